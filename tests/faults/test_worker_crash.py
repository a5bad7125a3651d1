"""Fault 1: the worker dies (SIGKILL) in the middle of agency checks, letter orders and SMS
sends, and a new worker is started.

The parties did the work but their answers were held (`timeout` fault) when the worker died,
so the only way to avoid a second SMS, letter or agency request is the idempotency key the
retry carries: the outbox counts show the retries arrived (duplicate hits) and that nothing
was sent twice (distinct sends as expected). Every registration then goes on to `confirmed`.
"""

from __future__ import annotations

import asyncio
import time

from simulators.schemas import Party
from tests.faults.conftest import FaultStack
from tests.faults.ledger import Record
from tests.faults.population import EVERY_STAGE, Milestone, Outbox, spread

HELD = 12.0
"""Seconds the parties hold their answers: longer than the worker waits (10 s), so the
worker is killed while it still waits for them."""
IN_FLIGHT: dict[Party, int] = {"post": 2, "sms-gateway": 2, "pension-fund": 2, "mvd": 2}


async def test_a_worker_killed_mid_flight_loses_nothing_and_sends_nothing_twice(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    portal, simulators = fault_stack.portal, fault_stack.simulators
    # Verification is entered by two of those at the password stage as the fault hits.
    settled = await portal.population(
        EVERY_STAGE
        | {Milestone.PASSWORD_SET: 3, Milestone.PROFILE_SUBMITTED: 0, Milestone.VERIFIED: 3}
    )
    # The population's own notifications are out before the faults take the next calls.
    await asyncio.gather(*(outbox.messages(citizen) for citizen in settled))
    record.say(f"population: {spread(settled)}")
    checking = [c for c in settled if c.reached is Milestone.PASSWORD_SET][1:]
    ordering = [c for c in settled if c.reached is Milestone.VERIFIED][1:]

    # The agencies think (`population`): the checks will poll until `answer_now`.
    await portal.thinking()
    for party, count in IN_FLIGHT.items():
        await simulators.inject_fault(party, "timeout", count=count, delay_seconds=HELD)
    before = await simulators.counts()
    steps = asyncio.gather(
        *(portal.advance(c, Milestone.PROFILE_SUBMITTED) for c in checking),
        *(portal.advance(c, Milestone.LETTER_ORDERED) for c in ordering),
    )
    starts = asyncio.gather(portal.start(), portal.start())
    deadline, first = time.monotonic() + 20, None
    while True:
        counts = await simulators.counts()
        met = {party: counts[party].faults - before[party].faults for party in IN_FLIGHT}
        if first is None and any(met.values()):
            first = time.monotonic()
        if all(met[party] >= count for party, count in IN_FLIGHT.items()):
            break
        assert time.monotonic() < deadline, f"the calls did not all arrive: {met}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the parties have done the work; their answers are held
    await fault_stack.crash("worker")
    assert first is not None and time.monotonic() - first < 9, "killed while all were waiting"
    record.inject(
        "SIGKILL to the worker while 2 letter orders, 2 SMS sends, 2 Pension Fund and 2 MVD "
        f"requests had been carried out but not answered (answers held {HELD:g} s), 2 updates "
        "waiting on the letters, 2 registrations entering verification"
    )
    await fault_stack.restart("worker")
    record.say("a new worker was started at once")
    await portal.answer_now()
    await steps
    everyone = settled + list(await starts)
    await portal.advance_all(everyone, Milestone.CONFIRMED)
    record.check(f"all {len(everyone)} registrations, from every stage, reached confirmed")
    after = await simulators.counts()
    retried = {party: after[party].duplicates - before[party].duplicates for party in IN_FLIGHT}
    assert all(retried[party] >= count for party, count in IN_FLIGHT.items()), retried
    record.check(f"the retries reached the parties with the same keys (duplicate hits {retried})")

    await fault_stack.account(everyone, outbox, record)
