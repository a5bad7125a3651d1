"""Citizens registering through the real API, spread over every stage, and the account of what
happened to each: still there, at the stage it was driven to, and sent everything once.

`Portal` drives citizens as the portal backend would: every step carries an Idempotency-Key,
and a 503 (Temporal or PostgreSQL unreachable: "not applied, try again") or a lost
connection is retried with the same key until the step is answered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from registration.journey import Stage
from simulators.control import SimulatorControl
from simulators.schemas import PartyCounts
from store import repository
from store.schema import RegistrationStatus
from tests.data import ADDRESS
from tests.faults.ledger import Record
from tests.journeys import PASSWORD
from tests.running_stack import Person
from tests.waiting import wait_for
from workflows import search_attributes as search

STEP_DEADLINE = 90.0
"""Seconds a step may take, retries included: a killed worker's activities come back after
their start-to-close timeouts, a restarted server after its start."""


class Milestone(IntEnum):
    """How far a citizen was driven, in the order of the journey."""

    STARTED = 1
    CONTACT_CONFIRMED = 2
    PASSWORD_SET = 3
    PROFILE_SUBMITTED = 4
    VERIFIED = 5
    LETTER_ORDERED = 6
    CONFIRMED = 7

    @property
    def stage(self) -> Stage:
        """The workflow's stage once this milestone is reached (and the next is not)."""
        return STAGES[self]


STAGES = {
    Milestone.STARTED: Stage.CONTACT,
    Milestone.CONTACT_CONFIRMED: Stage.PASSWORD,
    Milestone.PASSWORD_SET: Stage.PROFILE,
    Milestone.PROFILE_SUBMITTED: Stage.VERIFICATION,
    Milestone.VERIFIED: Stage.IDENTITY,
    Milestone.LETTER_ORDERED: Stage.IDENTITY,
    Milestone.CONFIRMED: Stage.CONFIRMED,
}
EVERY_STAGE = {milestone: 1 for milestone in Milestone}
"""A population with one citizen at each milestone."""


@dataclass
class Citizen:
    person: Person
    rid: str = ""
    session: str = ""
    """The session the start answered with (`X-Registration-Session`)."""
    reached: Milestone = Milestone.STARTED
    tracking: str | None = None
    profiles: int = 0
    """Profiles submitted: each is one request to the Pension Fund and one to the MVD."""

    def expected_messages(self) -> set[str]:
        """The idempotency keys of the SMS this citizen must have been sent, each once."""
        keys = {f"{self.rid}:contact-code:1"}
        if self.reached >= Milestone.VERIFIED:
            keys.add(f"{self.rid}:standard-granted")
        if self.reached >= Milestone.CONFIRMED:
            keys.add(f"{self.rid}:confirmed")
        return keys

    def expected_letters(self) -> set[str]:
        return {f"{self.rid}:letter:1"} if self.reached >= Milestone.LETTER_ORDERED else set()


class Portal:
    def __init__(self, api: httpx.AsyncClient, simulators: SimulatorControl) -> None:
        self.api = api
        self.simulators = simulators

    async def call(
        self, method: str, path: str, body: Any = None, citizen: Citizen | None = None
    ) -> httpx.Response:
        """The answer to one step (in `citizen`'s session), retried with the same
        Idempotency-Key while the API says 503 or cannot be reached."""
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if citizen is not None:
            headers["X-Registration-Session"] = citizen.session
        deadline = time.monotonic() + STEP_DEADLINE
        while True:
            try:
                response = await self.api.request(method, path, json=body, headers=headers)
                if response.status_code != 503:
                    return response
                problem = response.text
            except httpx.TransportError as error:
                problem = repr(error)
            assert time.monotonic() < deadline, f"{method} {path} never answered: {problem}"
            await asyncio.sleep(0.5)

    async def start(self, person: Person | None = None) -> Citizen:
        citizen = Citizen(person or Person.new())
        answer = await self.call("POST", "/v1/registrations", citizen.person.start())
        assert answer.status_code == 201, answer.text
        citizen.rid = answer.json()["registration_id"]
        citizen.session = answer.json()["session"]
        return citizen

    async def stage(self, citizen: Citizen) -> Stage:
        answer = await self.call("GET", f"/v1/registrations/{citizen.rid}", citizen=citizen)
        assert answer.status_code == 200, answer.text
        return Stage(answer.json()["stage"])

    async def wait_for(self, citizen: Citizen, stage: Stage, seconds: float = 60.0) -> None:
        async def pause() -> None:
            await asyncio.sleep(0.3)

        looks = int(seconds / 0.3) + 1
        await wait_for(
            stage, lambda: self.stage(citizen), Stage, pause=pause, looks=looks, what=citizen.rid
        )

    async def step(self, citizen: Citizen) -> None:
        """Take the citizen to the next milestone."""
        path = f"/v1/registrations/{citizen.rid}"
        after = Milestone(citizen.reached + 1)
        if after is Milestone.CONTACT_CONFIRMED:
            code = await self.simulators.sms_code(citizen.person.phone, seconds=STEP_DEADLINE)
            answer = await self.call("POST", f"{path}/contact-code", {"code": code}, citizen)
            assert answer.json().get("accepted") is True, answer.text
        elif after is Milestone.PASSWORD_SET:
            password = {"password": PASSWORD, "password_repeated": PASSWORD}
            answer = await self.call("PUT", f"{path}/password", password, citizen)
            assert answer.json().get("stage") == Stage.PROFILE, answer.text
        elif after is Milestone.PROFILE_SUBMITTED:
            answer = await self.call("PUT", f"{path}/profile", citizen.person.profile(), citizen)
            assert answer.json().get("stage") == Stage.VERIFICATION, answer.text
            citizen.profiles += 1
        elif after is Milestone.VERIFIED:
            await self.wait_for(citizen, Stage.IDENTITY, STEP_DEADLINE)
        elif after is Milestone.LETTER_ORDERED:
            method = {"method": "letter", "address": ADDRESS.model_dump(mode="json")}
            answer = await self.call("PUT", f"{path}/confirmation-method", method, citizen)
            assert answer.status_code == 200, answer.text
            citizen.tracking = answer.json()["letter"]["tracking_number"]
        else:
            assert citizen.tracking is not None
            code = await self.simulators.letter_code(citizen.tracking, seconds=STEP_DEADLINE)
            answer = await self.call("POST", f"{path}/letter-code", {"code": code}, citizen)
            assert answer.json().get("accepted") is True, answer.text
            await self.wait_for(citizen, Stage.CONFIRMED, STEP_DEADLINE)
        citizen.reached = after

    async def advance(self, citizen: Citizen, to: Milestone) -> Citizen:
        while citizen.reached < to:
            await self.step(citizen)
        return citizen

    async def advance_all(self, citizens: Iterable[Citizen], to: Milestone) -> None:
        await asyncio.gather(*(self.advance(citizen, to) for citizen in citizens))

    async def population(self, plan: dict[Milestone, int]) -> list[Citizen]:
        """Citizens driven, all at once, to the milestones of `plan` (milestone: how many).
        Those at PROFILE_SUBMITTED really wait in verification: the agencies are left
        thinking for an hour, until `answer_now`."""

        async def one(to: Milestone) -> Citizen:
            return await self.advance(await self.start(), to)

        def wanted(which: Iterable[Milestone]) -> list[Milestone]:
            return [milestone for milestone in which for _ in range(plan.get(milestone, 0))]

        checked = [m for m in plan if m is not Milestone.PROFILE_SUBMITTED]
        citizens = list(await asyncio.gather(*(one(milestone) for milestone in wanted(checked))))
        await self.thinking()
        pending = wanted([Milestone.PROFILE_SUBMITTED])
        return citizens + list(await asyncio.gather(*(one(milestone) for milestone in pending)))

    async def thinking(self) -> None:
        """The Pension Fund and the MVD take an hour to answer, until `answer_now`."""
        await self.simulators.configure(pension_fund_delay_seconds=3600, mvd_delay_seconds=3600)

    async def answer_now(self) -> None:
        """The agencies answer every request, pending ones included, at once from now on."""
        await self.simulators.configure(**NO_DELAYS)


NO_DELAYS = {"pension_fund_delay_seconds": 0, "mvd_delay_seconds": 0, "fns_delay_seconds": 0}


def spread(citizens: Iterable[Citizen]) -> str:
    """ "6 registrations: 1 started, 1 contact confirmed, …", for the test's record."""
    counted = Counter(citizen.reached for citizen in citizens)
    parts = [f"{counted[m]} {m.name.lower().replace('_', ' ')}" for m in Milestone if counted[m]]
    return f"{sum(counted.values())} registrations: {', '.join(parts)}"


# --- the account ----------------------------------------------------------------------------


class Outbox:
    """What the simulated parties sent, against a baseline taken when the test began."""

    def __init__(self, simulators: SimulatorControl, baseline: dict[str, PartyCounts]) -> None:
        self.simulators = simulators
        self.baseline = baseline

    async def sent_since(self) -> dict[str, int]:
        """Distinct sends and requests per party since the baseline."""
        now = await self.simulators.counts()
        return {party: now[party].distinct - self.baseline[party].distinct for party in now}

    async def messages(self, citizen: Citizen, seconds: float = 15.0) -> list[str]:
        """The idempotency keys of the SMS sent to the citizen, once all expected are in
        (notifications follow a stage change), or after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            keys = [
                m.idempotency_key for m in await self.simulators.messages(to=citizen.person.phone)
            ]
            if citizen.expected_messages() <= set(keys) or time.monotonic() > deadline:
                return keys
            await asyncio.sleep(0.3)

    async def letters(self, citizen: Citizen) -> list[str]:
        return [
            letter.idempotency_key
            for letter in await self.simulators.letters()
            if letter.idempotency_key.startswith(f"{citizen.rid}:")
        ]


async def account_for(
    citizens: list[Citizen],
    *,
    client: Client,
    engine: AsyncEngine,
    outbox: Outbox,
    record: Record,
) -> list[str]:
    """Check each citizen on every side and note the lost and the duplicated in `record`:
    one workflow execution at the stage it was driven to, its store row, each SMS and letter
    sent once; and, for all of them together, one request to each agency per profile
    submitted (FNS: per profile verified). Returns the problems."""
    each = await asyncio.gather(
        *(_account_for_one(citizen, client, engine, outbox, record) for citizen in citizens)
    )
    problems = [problem for found in each for problem in found]
    record.checked(citizen.rid for citizen in citizens)
    sent = await outbox.sent_since()
    profiles = sum(citizen.profiles for citizen in citizens)
    expected = {
        "pension-fund": profiles,
        "mvd": profiles,
        "fns": sum(1 for c in citizens if c.profiles and c.reached >= Milestone.VERIFIED),
        "post": sum(len(citizen.expected_letters()) for citizen in citizens),
        "sms-gateway": sum(len(citizen.expected_messages()) for citizen in citizens),
    }
    for party, count in expected.items():
        if sent[party] != count:
            problems.append(f"{party}: {sent[party]} distinct requests, expected {count}")
    record.check(
        f"{len(citizens)} registrations: one execution each at its stage, its store row, "
        f"every SMS and letter sent once; distinct sends and requests as expected {expected}"
    )
    return problems


async def _account_for_one(
    citizen: Citizen, client: Client, engine: AsyncEngine, outbox: Outbox, record: Record
) -> list[str]:
    rid, problems = citizen.rid, []
    executions = [
        execution
        async for execution in client.list_workflows(f'WorkflowId = "{rid}"')
        if execution.status is not WorkflowExecutionStatus.CONTINUED_AS_NEW
    ]
    if len(executions) > 1:
        record.duplicated.add(rid)
        problems.append(f"{rid}: {len(executions)} workflow executions")
    try:
        description = await client.get_workflow_handle(rid).describe()
    except RPCError:
        record.lost.add(rid)
        return [*problems, f"{rid}: Temporal does not know it"]
    stage = description.typed_search_attributes.get(search.STAGE)
    if stage != citizen.reached.stage:
        record.lost.add(rid)
        problems.append(f"{rid}: at {stage}, driven to {citizen.reached.stage}")
    row = await repository.get_registration(engine, rid)
    finished = citizen.reached is Milestone.CONFIRMED
    if row is None:
        record.lost.add(rid)
        problems.append(f"{rid}: no store row")
    elif (row.status is RegistrationStatus.CONFIRMED) is not finished:
        problems.append(f"{rid}: store row {row.status} at milestone {citizen.reached.name}")
    for what, sent, expected in (
        ("SMS", await outbox.messages(citizen), citizen.expected_messages()),
        ("letters", await outbox.letters(citizen), citizen.expected_letters()),
    ):
        if len(sent) > len(set(sent)) or set(sent) - expected:
            record.duplicated.add(rid)
            problems.append(f"{rid}: {what} sent {sorted(sent)}, expected {sorted(expected)}")
        elif set(sent) != expected:
            problems.append(f"{rid}: {what} sent {sorted(sent)}, expected {sorted(expected)}")
    return problems
