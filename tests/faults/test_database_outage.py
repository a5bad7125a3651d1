"""Fault 3: PostgreSQL stops at once (`pg_ctl stop -m immediate`, as a crash or a failover)
while registrations at every stage are writing to the store — audit lines, accounts,
verified profiles, confirmations — and starts again a few seconds later.

The store activities fail and are retried by Temporal (the histories show attempts > 1); the
API answers 503 meanwhile and the portal repeats its steps with the same Idempotency-Key.
Each write is one transaction, so nothing is half-written: `gosreg check` finds the store
agreeing with every workflow and every audited step with its change, none applied twice.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.api.enums.v1 import EventType

from service.explain import local_activity
from tests.faults.conftest import FaultStack
from tests.faults.ledger import Record
from tests.faults.population import Citizen, Milestone, Outbox, spread

DOWN = 4.0
"""Seconds PostgreSQL stays down, at least."""
STORE_ACTIVITIES = {
    "open_registration",
    "record_audit",
    "record_audits",
    "bind_session",
    "activate_password",
    "save_verified_profile",
    "confirm_identity",
    "close_registration",
}


async def retried_store_writes(fault_stack: FaultStack, citizen: Citizen) -> int:
    """How many of the registration's store writes needed more than one attempt: activities
    started again, and local activities whose marker records a later attempt (registrations
    since patch `local-store-1` write the store locally)."""
    history = await fault_stack.client.get_workflow_handle(citizen.rid).fetch_history()
    scheduled = {
        event.event_id: event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    retried = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            name = scheduled[started.scheduled_event_id]
            retried += started.attempt > 1 and name in STORE_ACTIVITIES
        elif (local := local_activity(event)) is not None:
            retried += local["attempt"] > 1 and local["activity_type"] in STORE_ACTIVITIES
    return retried


async def test_a_database_outage_during_writes_leaves_nothing_half_written(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    portal = fault_stack.portal
    plan = {milestone: 2 for milestone in Milestone} | {Milestone.CONFIRMED: 1}
    citizens = await portal.population(plan)
    record.say(f"population: {spread(citizens)}; the agencies are thinking")
    # Every citizen short of the letter takes its next step now: the API answers once the
    # workflow has decided, and the store writes follow.
    moving = [c for c in citizens if c.reached < Milestone.PROFILE_SUBMITTED]
    moving += [c for c in citizens if c.reached is Milestone.LETTER_ORDERED]
    await asyncio.gather(*(portal.step(citizen) for citizen in moving))
    verifying = [c for c in citizens if c.reached is Milestone.PROFILE_SUBMITTED]
    await fault_stack.halt_postgres()
    halted = time.monotonic()
    # The agencies answer now: the verified profiles meet a store that is down.
    await portal.answer_now()
    record.inject(
        "PostgreSQL stopped at once (pg_ctl -m immediate), just after "
        f"{len(moving)} steps were taken and as the agencies answered the waiting checks"
    )
    down = await fault_stack.readiness()
    assert (down["http_status"], down["database"]) == (503, "unreachable"), down
    answer = await portal.api.get(
        f"/v1/registrations/{citizens[0].rid}",
        headers={"X-Registration-Session": citizens[0].session},
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
    record.check("meanwhile the API says 503 with Retry-After, the store unreachable")
    # Down for DOWN seconds: the verified profiles' writes (local activities, retried by the
    # worker that runs them, so Temporal lists none as pending) fail meanwhile; history shows it.
    await asyncio.sleep(max(DOWN - (time.monotonic() - halted), 0))
    await fault_stack.start_postgres()
    record.say(
        f"after {time.monotonic() - halted:.1f} s, with the writes of the {len(verifying)} "
        "verified profiles failing and waiting for their retry"
    )
    await fault_stack.wait_ready()
    record.say("PostgreSQL started again (recovering from its WAL); the API is ready again")

    await portal.advance_all(citizens, Milestone.CONFIRMED)
    record.check(f"all {len(citizens)} registrations went on to confirmed")
    retried = sum(await asyncio.gather(*(retried_store_writes(fault_stack, c) for c in citizens)))
    assert retried >= len(verifying), "at least the verified profiles were retried"
    record.check(f"{retried} store activities succeeded only on a later attempt (history)")

    await fault_stack.account(citizens, outbox, record)
