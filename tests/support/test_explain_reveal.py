"""Support may ask `explain` to name the person; the request is recorded, with who asked,
before the story is told. Without asking, the story names no one and nothing is recorded."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from service.registrations import REVEALED, Registrations
from simulators.control import SimulatorControl
from store import staff_events
from tests.api.conftest import Tokens, api_url, http, tokens
from tests.citizens import Citizen, bearer

__all__ = ["api_url", "http", "tokens"]


async def test_a_revealed_story_is_recorded_with_who_asked(
    registrations: Registrations, store_engine: AsyncEngine
) -> None:
    started = await registrations.start("Иванова", "Мария", phone="+79005550101")
    registration_id = started.registration_id

    unasked = await registrations.explain(registration_id, actor="support:cl_desk")
    assert unasked.person is None
    assert await staff_events.list_events(store_engine, registration_id=registration_id) == []

    told = await registrations.explain(registration_id, actor="support:cl_desk", reveal=True)
    assert told.person is not None and "Иванова Мария" in told.person
    lines = await staff_events.list_events(store_engine, registration_id=registration_id)
    assert [(line.event, line.actor) for line in lines] == [(REVEALED, "support:cl_desk")]


async def test_the_api_records_the_support_token_that_asked(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, tokens.portal, outbox)
    assert (await citizen.start()).status_code == 201
    answer = await http.get(
        f"/v1/support/registrations/{citizen.id}/explain",
        params={"reveal": "true"},
        headers=bearer(tokens.support),
    )
    assert answer.status_code == 200 and answer.json()["revealed"] is True
    assert citizen.phone in answer.json()["story"]
    lines = await staff_events.list_events(store_engine, registration_id=citizen.id)
    assert len(lines) == 1 and lines[0].actor is not None
    assert lines[0].actor.startswith("support:")
