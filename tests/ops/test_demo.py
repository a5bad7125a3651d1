"""`gosreg demo --until identity` leaves a citizen a clerk can find and confirm at the console."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ops.demo import Demo
from registration.callers import Principal, Role
from registration.journey import Stage
from service.clerk_desk import ClerkDesk, DocumentsSeen, Lookup, SearchBy
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl


async def test_the_demo_until_identity_prints_what_a_clerk_types(
    registrations: Registrations,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    outbox: SimulatorControl,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await Demo(stack_settings, registrations, store_engine, outbox).run(until_identity=True)

    out = capsys.readouterr().out
    assert f"at {stack_settings.console_url}" in out
    snils = re.search(r"find the citizen by SNILS ([\d -]+) or phone", out)
    passport = re.search(r"confirm with passport (\d{4}) (\d{6})", out)
    assert snils is not None and passport is not None, out
    clerk = Principal(client_id="clk_demo", role=Role.CLERK, name="", service_center_id="mfc-demo")
    desk = ClerkDesk(registrations, store_engine, stack_settings)
    [card] = await desk.find(clerk, Lookup(by=SearchBy.SNILS, snils=snils[1]))
    verdict = await desk.confirm(
        clerk,
        card.registration_id,
        DocumentsSeen(passport_series=passport[1], passport_number=passport[2], snils=snils[1]),
        "demo-form-0123456789",
    )
    assert verdict.confirmed
    assert (await registrations.result(card.registration_id)).stage is Stage.CONFIRMED
