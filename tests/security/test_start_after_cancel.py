"""Finding 5: a start right after a cancel is a new registration, never the cancelled one.

Before: in 7 of 10 runs a start right after a cancel answered with the cancelled registration
(`stage: cancelled`), because the workflow was still writing its outcome down. Now a
registration whose end is decided says so at once, and a start waits for it to close and
starts the next one, or, while the contact's code budget holds (cooldown), says when to try
again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.journeys import age_code_sends

RUNS = 5


async def test_a_start_right_after_a_cancel_is_never_the_cancelled_registration(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
) -> None:
    async def one_run() -> None:
        citizen = Citizen(http, tokens.portal, outbox)
        assert (await citizen.start()).status_code == 201
        assert (await citizen.confirm_contact()).json()["accepted"]
        first = citizen.id
        # The contact's last code is old enough: a new registration may send one at once.
        await age_code_sends(store_engine, citizen.phone, timedelta(hours=1))
        cancelled = await citizen.call("POST", "/cancel", {"reason": "changed my mind"})
        assert cancelled.json()["stage"] == "cancelled", cancelled.text
        again = await citizen.start()
        assert again.status_code == 201, again.text
        assert citizen.id != first
        assert again.json()["state"]["stage"] == "contact_confirmation"

    await asyncio.gather(*(one_run() for _ in range(RUNS)))


async def test_within_the_cooldown_a_restart_is_told_when_not_joined(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    citizen = Citizen(http, tokens.portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    first = citizen.id
    assert (await citizen.call("POST", "/cancel", {"reason": "typo"})).status_code == 200
    again = await citizen.start()
    assert (again.status_code, again.json()["code"]) == (429, "rate_limited"), again.text
    assert again.json().get("registration_id") is None and citizen.id != first
