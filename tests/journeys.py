"""Registrations walked through the service façade (`service.registrations.Registrations`), as
the portal would, to the stage a test needs; the citizen's SMS and letter are read from the
simulators' outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.codes import contact_key
from registration.contact import Channel, Contact
from registration.journey import ConfirmationMethod, Stage
from registration.person import Profile
from service.registrations import Registrations
from simulators.control import SimulatorControl
from store.sends import ContactSend
from tests import waiting
from tests.data import ADDRESS, PROFILE, STACK_CODE_SECRET

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
    await waiting.wait_for(
        stage, lambda: registrations.state(rid), lambda view: view.stage, looks=150, what=rid
    )


async def age_code_sends(engine: AsyncEngine, phone: str, by: timedelta) -> None:
    """Let `by` pass for the codes the session stack sent to `phone` (`store.sends`): the
    budgets that span registrations then count them as that much older."""
    key = contact_key(STACK_CODE_SECRET.encode(), Contact(channel=Channel.SMS, address=phone))
    async with engine.begin() as connection:
        await connection.execute(
            update(ContactSend)
            .where(ContactSend.contact_key == key)
            .values(sent_at=ContactSend.sent_at - by)
        )
