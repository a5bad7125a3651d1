"""`gosreg check` on the session's real stack (dev server, worker, simulators, PostgreSQL): it
passes registrations whose store lags by design, and finds every kind of true mismatch made
here by hand — a workflow terminated in the UI, a store put back to an old state, a workflow
without a row, a row without a workflow, an id used twice, a contact registered twice."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import WorkflowIDReusePolicy

from ops import consistency
from ops.consistency import Kind, Report, check
from registration.activity_messages import AuditEntry, OpenRegistration
from registration.contact import Channel, Contact
from registration.errors import Refusal, StepRefused
from registration.journey import Stage
from registration.messages import RegistrationInput
from registration.person import Person
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from store import repository
from tests.data import new_phone
from tests.journeys import age_code_sends, walk


async def checked(
    registrations: Registrations, engine: AsyncEngine, *ids: str, grace: float = 60
) -> Report:
    return await check(
        registrations.client, engine, ids, grace=timedelta(seconds=grace), settle=timedelta(0)
    )


def kinds(report: Report) -> dict[str, set[Kind]]:
    found: dict[str, set[Kind]] = {}
    for finding in report.findings:
        found.setdefault(finding.registration_id, set()).add(finding.kind)
    return found


async def settled(
    registrations: Registrations,
    engine: AsyncEngine,
    *ids: str,
    consistent: bool = True,
    grace: float = 60,
) -> Report:
    """The report once it says `consistent` (or not), for at most 5 s: a workflow's audit
    lines follow its decisions, and the visibility listing follows the workflows."""
    for _ in range(50):
        report = await checked(registrations, engine, *ids, grace=grace)
        if report.consistent is consistent:
            break
        await asyncio.sleep(0.1)
    return report


async def test_registrations_at_every_stage_are_consistent_with_the_store(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    stages = (Stage.CONTACT, Stage.PASSWORD, Stage.PROFILE, Stage.IDENTITY, Stage.CONFIRMED)
    ids = await asyncio.gather(
        *(walk(registrations, outbox, stage, phone=new_phone()) for stage in stages)
    )
    report = await settled(registrations, store_engine, *ids)
    assert report.consistent, report.render()
    assert report.registrations == len(stages)
    paged = repository.summarize_registrations(store_engine, ids, batch=2)
    assert [summary.registration_id async for summary in paged] == sorted(ids)
    # The store is one stage behind by design where the workflow enters a stage unaudited.
    profile_row = await repository.get_registration(store_engine, ids[2])
    assert profile_row is not None and profile_row.stage is Stage.PASSWORD


async def test_a_workflow_terminated_by_hand_is_found_and_its_row_closed_on_request(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    phone = new_phone()
    rid = await walk(registrations, outbox, Stage.PASSWORD, phone=phone)  # no account yet
    await registrations.client.get_workflow_handle(rid).terminate(reason="clicked in the UI")

    report = await settled(registrations, store_engine, rid, consistent=False)
    assert kinds(report) == {rid: {Kind.ENDED_ABNORMALLY}}, report.render()
    assert "terminated" in report.findings[0].message
    assert "--close-orphans" in report.render()
    with pytest.raises(StepRefused) as refused:
        await registrations.start("Иванова", "Мария", phone=phone)
    assert refused.value.code is Refusal.UNAVAILABLE, "the contact is stuck until support acts"

    fixed = await consistency.close_orphans(
        registrations.client, store_engine, report, actor="support:cl_test", reason="stuck"
    )
    assert fixed.consistent and fixed.closed == [rid]
    last = (await repository.list_audit(store_engine, rid))[-1]
    assert (last.event, last.actor) == ("closed_after_workflow_ended", "support:cl_test")
    assert last.details == {"reason": "stuck", "workflow_status": "terminated"}
    assert (await checked(registrations, store_engine, rid)).consistent
    # Past the contact's cooldown between codes (it spans registrations):
    await age_code_sends(store_engine, phone, timedelta(minutes=2))
    again = await registrations.start("Иванова", "Мария", phone=phone)
    assert again.created and again.registration_id != rid


async def test_a_store_put_back_to_an_older_state_is_found(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    rid = await walk(registrations, outbox, Stage.IDENTITY, phone=new_phone())
    assert (await settled(registrations, store_engine, rid)).consistent
    account = await repository.get_account_for_registration(store_engine, rid)
    assert account is not None
    # As if the store were restored from a backup taken before the verification.
    async with store_engine.begin() as connection:
        await connection.execute(
            text("UPDATE registrations SET stage = 'password' WHERE registration_id = :id"),
            {"id": rid},
        )
        await connection.execute(
            text("UPDATE accounts SET level = 'simplified' WHERE id = :id"), {"id": account.id}
        )
    try:
        report = await checked(registrations, store_engine, rid)
        assert kinds(report) == {rid: {Kind.STAGE_MISMATCH, Kind.LEVEL_MISMATCH, Kind.HALF_WRITTEN}}
        messages = {finding.kind: finding.message for finding in report.findings}
        assert "identity_confirmation; store: password" in messages[Kind.STAGE_MISMATCH]
        assert "a simplified account, yet verified is audited" in messages[Kind.HALF_WRITTEN]
    finally:
        async with store_engine.begin() as connection:
            await connection.execute(
                text("UPDATE registrations SET stage = 'verification' WHERE registration_id = :id"),
                {"id": rid},
            )
            await connection.execute(
                text("UPDATE accounts SET level = 'standard' WHERE id = :id"), {"id": account.id}
            )


async def test_a_workflow_without_a_row_is_found_after_the_grace_period(
    registrations: Registrations, store_engine: AsyncEngine
) -> None:
    rid = f"reg-consistency-{uuid.uuid4().hex}-1"
    start = RegistrationInput(
        registration_id=rid,
        person=Person(surname="Иванова", name="Мария"),
        contact=Contact(channel=Channel.SMS, address=new_phone()),
    )
    client = registrations.client
    # No worker polls this queue: the workflow never writes its row.
    handle = await client.start_workflow("Registration", start, id=rid, task_queue="nobody")
    try:
        assert (await checked(registrations, store_engine, rid)).consistent, "within the grace"
        late = await settled(registrations, store_engine, rid, consistent=False, grace=0)
        assert kinds(late) == {rid: {Kind.NO_STORE_ROW}}
    finally:
        await handle.terminate()
    assert (await checked(registrations, store_engine, rid)).consistent, "ended, rowless: fine"

    # The id used again for a second execution (the service's starts refuse that).
    assert (await settled(registrations, store_engine, rid)).consistent
    second = await client.start_workflow(
        "Registration",
        start,
        id=rid,
        task_queue="nobody",
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    await second.terminate()
    report = await settled(registrations, store_engine, rid, consistent=False)
    assert kinds(report) == {rid: {Kind.DUPLICATE_EXECUTIONS}}


async def test_rows_without_workflows_and_a_contact_open_twice_are_found(
    store_engine: AsyncEngine, registrations: Registrations
) -> None:
    contact = Contact(channel=Channel.SMS, address=new_phone())
    ids = [f"reg-consistency-{uuid.uuid4().hex}-{n}" for n in (1, 2)]
    for rid in ids:
        await repository.open_registration(
            store_engine,
            OpenRegistration(
                registration_id=rid,
                contact=contact,
                person=Person(surname="Иванова", name="Мария"),
                audit=AuditEntry(
                    registration_id=rid, seq=1, event="registration_started", stage=Stage.CONTACT
                ),
            ),
        )
    report = await checked(registrations, store_engine, *ids)
    assert kinds(report) == {
        rid: {Kind.WORKFLOW_MISSING, Kind.DUPLICATE_REGISTRATIONS} for rid in ids
    }, report.render()


async def test_gosreg_check_answers_in_json_with_its_exit_status(
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rid = await walk(registrations, outbox, Stage.PASSWORD, phone=new_phone())
    assert stack_settings.database_url and stack_settings.codec_keys
    assert stack_settings.code_secret and stack_settings.token_pepper
    for name, value in {
        "GOSREG_CODE_SECRET": stack_settings.code_secret.get_secret_value(),
        "GOSREG_TOKEN_PEPPER": stack_settings.token_pepper.get_secret_value(),
        "GOSREG_TEMPORAL_ADDRESS": stack_settings.temporal_address,
        "GOSREG_TEMPORAL_NAMESPACE": stack_settings.temporal_namespace,
        "GOSREG_DATABASE_URL": stack_settings.database_url,
        "GOSREG_CODEC_KEYS": stack_settings.codec_keys.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser(prog="gosreg")
    consistency.add_parser(parser.add_subparsers(dest="command"))

    async def gosreg_check(*args: str) -> tuple[int, str]:
        """`gosreg check …` (its exit status, its output), in this process."""
        status = await consistency.run(parser.parse_args(["check", "--settle", "0", *args]))
        return status, capsys.readouterr().out

    assert (await settled(registrations, store_engine, rid)).consistent
    status, out = await gosreg_check(rid, "--json")
    assert (status, json.loads(out)["consistent"]) == (0, True), out
    await registrations.client.get_workflow_handle(rid).terminate()
    await settled(registrations, store_engine, rid, consistent=False)
    status, out = await gosreg_check(rid, "--json")
    answer = json.loads(out)
    assert status == 1 and answer["registrations"] == 1
    assert [(m["registration_id"], m["kind"]) for m in answer["mismatches"]] == [
        (rid, "ended_abnormally")
    ]
    status, out = await gosreg_check(rid)
    assert status == 1 and "--close-orphans" in out, out
    with pytest.raises(SystemExit, match="needs --actor and --reason"):
        await gosreg_check(rid, "--close-orphans")
    status, out = await gosreg_check(
        rid, "--close-orphans", "--actor", "support:cl_cli", "--reason", "x"
    )
    assert status == 0 and f"closed {rid}" in out, out
