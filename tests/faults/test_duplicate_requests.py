"""Fault 5: the API under duplicate and concurrent requests, as a portal that retries on a
timeout (or two of its instances racing) sends them.

The same start 20 times at once is one registration: one workflow execution, one store row,
one SMS, and twenty sessions that have proven nothing (each answer looks like the others).
The same code twice at once is judged once: with one Idempotency-Key both requests get the
one verdict (a wrong code costs one attempt, not two); without, one is accepted and the other
is refused because the stage has moved on.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from registration.journey import Stage
from tests.faults.conftest import FaultStack
from tests.faults.ledger import Record
from tests.faults.population import Citizen, Milestone, Outbox
from tests.running_stack import Person

TIMES = 20


async def test_the_same_start_twenty_times_at_once_is_one_registration(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    api, person = fault_stack.portal.api, Person.new()
    answers = await asyncio.gather(
        *(api.post("/v1/registrations", json=person.start()) for _ in range(TIMES))
    )
    record.inject(f"the same start sent {TIMES} times at once")
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: TIMES}, [answer.text for answer in answers]
    ids = {answer.json()["registration_id"] for answer in answers}
    assert len(ids) == 1, ids
    rid = ids.pop()
    sessions = {answer.json()["session"] for answer in answers}
    assert len(sessions) == TIMES
    record.check(f"all {TIMES} answered alike (201) with the same registration and a session each")

    citizen = Citizen(person, rid, session=sessions.pop())
    await fault_stack.account([citizen], outbox, record)


async def test_the_same_code_twice_at_once_is_judged_once(
    fault_stack: FaultStack, outbox: Outbox, record: Record
) -> None:
    portal = fault_stack.portal
    keyed, unkeyed = await asyncio.gather(portal.start(), portal.start())
    codes = {
        citizen.rid: await fault_stack.simulators.sms_code(citizen.person.phone)
        for citizen in (keyed, unkeyed)
    }

    async def twice(citizen: Citizen, code: str, key: str | None) -> list[dict[str, object]]:
        path = f"/v1/registrations/{citizen.rid}/contact-code"
        headers = {"X-Registration-Session": citizen.session}
        if key:
            headers["Idempotency-Key"] = key
        answers = await asyncio.gather(
            *(portal.api.post(path, json={"code": code}, headers=headers) for _ in range(2))
        )
        return [answer.json() | {"http_status": answer.status_code} for answer in answers]

    wrong = "000000" if codes[keyed.rid] != "000000" else "111111"
    first, second = await twice(keyed, wrong, key=f"{keyed.rid}-wrong")
    record.inject("a wrong code sent twice at once with one Idempotency-Key")
    assert first == second and first["accepted"] is False, (first, second)
    assert first["attempts_left"] == 2, "judged once: one attempt of three used"
    record.check("both got the one verdict: wrong, 2 attempts left (one attempt used)")

    first, second = await twice(keyed, codes[keyed.rid], key=f"{keyed.rid}-right")
    record.inject("the right code sent twice at once with one Idempotency-Key")
    assert first == second and first["accepted"] is True, (first, second)
    record.check("both got the one verdict: accepted")

    answers = await twice(unkeyed, codes[unkeyed.rid], key=None)
    record.inject("the right code sent twice at once without an Idempotency-Key")
    verdicts = sorted((answer["http_status"], answer.get("code")) for answer in answers)
    assert verdicts == [(200, None), (409, "wrong_stage")], answers
    assert [answer.get("accepted") for answer in answers].count(True) == 1
    record.check("one was accepted; the other refused (409 wrong_stage), nothing applied twice")

    for citizen in (keyed, unkeyed):
        citizen.reached = Milestone.CONTACT_CONFIRMED
        assert await portal.stage(citizen) is Stage.PASSWORD
    await fault_stack.account([keyed, unkeyed], outbox, record)
