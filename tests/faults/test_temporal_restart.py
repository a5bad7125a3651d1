"""Fault 2: the Temporal dev server stops and starts again on its SQLite file, with
registrations at every stage, some of them waiting on the agencies. Every registration is
still there afterwards — the same execution, at the same stage — and goes on to `confirmed`;
the worker and the API reconnect by themselves."""

from __future__ import annotations

import asyncio

from tests.faults.conftest import FaultStack
from tests.faults.ledger import Record
from tests.faults.population import (
    EVERY_STAGE,
    Citizen,
    Milestone,
    Outbox,
    spread,
)
from workflows import search_attributes as search

DOWN = 3.0
"""Seconds the server stays down."""


async def executions(fault_stack: FaultStack, citizens: list[Citizen]) -> dict[str, str]:
    """Each registration's run id and stage (search attribute) as Temporal describes it."""
    handles = [fault_stack.client.get_workflow_handle(citizen.rid) for citizen in citizens]
    described = await asyncio.gather(*(handle.describe() for handle in handles))
    return {
        description.id: f"{description.run_id} {description.typed_search_attributes[search.STAGE]}"
        for description in described
    }


async def test_a_restarted_temporal_server_keeps_every_registration(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    portal = fault_stack.portal
    citizens = await portal.population(EVERY_STAGE | {Milestone.PROFILE_SUBMITTED: 2})
    record.say(f"population: {spread(citizens)}; the agencies are thinking")
    before = await executions(fault_stack, citizens)

    await fault_stack.stop("temporal")
    record.inject(f"the Temporal dev server stopped (SIGTERM) for {DOWN:g} s")
    down = await fault_stack.readiness()
    assert (down["http_status"], down["temporal"]) == (503, "unreachable"), down
    record.check("meanwhile the API says 503, Temporal unreachable (/health/ready)")
    await asyncio.sleep(DOWN)
    await fault_stack.restart("temporal")
    await fault_stack.wait_ready()
    record.say("the server started again on the same SQLite file; the API is ready again")

    after = await executions(fault_stack, citizens)
    assert after == before, "every registration is there, the same execution at its stage"
    record.check(f"all {len(citizens)} registrations are there: same run ids, same stages")
    await portal.answer_now()
    await portal.advance_all(citizens, Milestone.CONFIRMED)
    record.check(f"all {len(citizens)} registrations went on to confirmed")

    await fault_stack.account(citizens, outbox, record)
