"""Registrations walked through the service façade (`service.registrations.Registrations`), as
the portal would, to the stage a test needs; the citizen's SMS and letter are read from the
simulators' outbox."""

from __future__ import annotations

import asyncio

from registration.models import ConfirmationMethod, Profile, Stage
from service.registrations import Registrations
from simulators.control import SimulatorControl
from tests.data import ADDRESS, PROFILE

PASSWORD = "Zvezda#Polar7"
JOURNEY = (
    Stage.CONTACT,
    Stage.PASSWORD,
    Stage.PROFILE,
    Stage.VERIFICATION,
    Stage.IDENTITY,
    Stage.CONFIRMED,
)


async def walk(
    registrations: Registrations,
    simulators: SimulatorControl,
    to: Stage,
    *,
    phone: str,
    profile: Profile = PROFILE,
) -> str:
    """A new registration for `phone` walked to stage `to` (past verification only when the
    agencies answer; to `confirmed` by letter); its id."""
    rid = (await registrations.start(profile.surname, profile.name, phone=phone)).registration_id
    for stage in JOURNEY[1 : JOURNEY.index(to) + 1]:
        if stage is Stage.PASSWORD:
            await registrations.submit_contact_code(rid, await simulators.sms_code(phone))
        elif stage is Stage.PROFILE:
            await registrations.set_password(rid, PASSWORD, PASSWORD)
        elif stage is Stage.VERIFICATION:
            await registrations.submit_profile(rid, profile)
        elif stage is Stage.IDENTITY:
            await wait_for(registrations, rid, Stage.IDENTITY)
        else:
            chosen = await registrations.choose_method(rid, ConfirmationMethod.LETTER, ADDRESS)
            assert chosen.letter is not None
            code = await simulators.letter_code(chosen.letter.tracking_number)
            await registrations.submit_letter_code(rid, code)
            assert (await registrations.result(rid)).stage is Stage.CONFIRMED
    return rid


async def wait_for(registrations: Registrations, rid: str, stage: Stage) -> None:
    for _ in range(150):
        if (await registrations.state(rid)).stage is stage:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{rid} never reached {stage}")
