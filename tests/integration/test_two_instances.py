"""Two API instances and two workers against one Temporal and one PostgreSQL, as a deployment
that scales out runs them: each citizen's steps land on either instance in turn, workers share
the task queue, limits are shared, no SMS or letter goes out twice, and every registration
confirms."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from activities import build_activities
from api.app import create_app
from registration.journey import Stage
from service.temporal import connect
from serving import ServerThread
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens, tokens
from tests.citizens import Citizen, bearer
from tests.conftest import worker_of
from tests.data import PROFILE

__all__ = ["tokens"]
CITIZENS = 6


@pytest.fixture
async def deployment(
    stack_settings: Settings, store_engine: AsyncEngine
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two workers on a queue of their own and two APIs in front of it: the APIs' clients."""
    settings = stack_settings.model_copy(update={"temporal_task_queue": f"two-{uuid.uuid4()}"})
    async with AsyncExitStack() as stack:
        for _ in range(2):
            client = await connect(settings, worker=True)
            activities = await stack.enter_async_context(build_activities(settings, store_engine))
            await stack.enter_async_context(worker_of(client, settings, activities))
        apis = []
        for number in range(2):
            server = stack.enter_context(
                ServerThread(create_app(settings), name=f"api-{number}", lifespan="on")
            )
            apis.append(
                await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=30))
            )
        yield apis


async def confirmed_across(
    apis: list[httpx.AsyncClient], tokens: Tokens, outbox: SimulatorControl, by_letter: bool
) -> Citizen:
    """One citizen to `confirmed`, each step on the other instance than the one before."""
    citizen = Citizen(apis[0], tokens.portal, outbox)
    turn = 0

    def next_instance() -> None:
        nonlocal turn
        turn += 1
        citizen.http = apis[turn % 2]

    assert (await citizen.start()).status_code == 201
    next_instance()
    assert (await citizen.confirm_contact()).json()["accepted"]
    next_instance()
    assert (await citizen.set_password()).status_code == 200
    next_instance()
    profile = await citizen.call("PUT", "/profile", PROFILE.model_dump(mode="json"))
    assert profile.status_code == 200, profile.text
    next_instance()
    await citizen.wait_for(Stage.IDENTITY)
    next_instance()
    if by_letter:
        letter = await citizen.choose_letter()
        next_instance()
        code = await outbox.letter_code(letter["letter"]["tracking_number"])
        verdict = await citizen.call("POST", "/letter-code", {"code": code})
        assert verdict.json()["accepted"], verdict.text
    else:
        seen = {
            "passport_series": PROFILE.passport_series,
            "passport_number": PROFILE.passport_number,
            "snils": PROFILE.snils,
        }
        verdict = await citizen.http.post(
            f"/v1/clerk/registrations/{citizen.id}/in-person-confirmation",
            json=seen,
            headers=bearer(tokens.clerk),
        )
        assert verdict.json()["confirmed"], verdict.text
    next_instance()
    await citizen.wait_for(Stage.CONFIRMED)
    return citizen


async def test_two_apis_and_two_workers_confirm_everyone_once(
    deployment: list[httpx.AsyncClient], tokens: Tokens, outbox: SimulatorControl
) -> None:
    citizens = await asyncio.gather(
        *(
            confirmed_across(deployment, tokens, outbox, by_letter=n % 2 == 0)
            for n in range(CITIZENS)
        )
    )

    codes: Counter[str] = Counter()
    for citizen in citizens:
        for message in await outbox.messages(to=citizen.phone, kind="sms"):
            if message.text and "код подтверждения" in message.text:
                codes[citizen.phone] += 1
    assert codes == Counter({c.phone: 1 for c in citizens}), "one contact code each"
    sent = await outbox.letters()
    letters = Counter(
        citizen.id
        for citizen in citizens
        for letter in sent
        if letter.idempotency_key.startswith(citizen.id + ":")
    )
    assert letters == Counter({c.id: 1 for c in citizens[::2]}), "one letter each who chose it"


async def test_a_limit_holds_across_instances(
    deployment: list[httpx.AsyncClient], tokens: Tokens, outbox: SimulatorControl
) -> None:
    citizen = Citizen(deployment[0], tokens.portal, outbox)
    await citizen.reach_identity_stage()
    answers = []
    for attempt in range(11):  # 10 method choices an hour per registration, on either API
        citizen.http = deployment[attempt % 2]
        choice = {"method": "in_person"}
        answers.append((await citizen.call("PUT", "/confirmation-method", choice)).status_code)
    assert answers == [200] * 10 + [429], answers
