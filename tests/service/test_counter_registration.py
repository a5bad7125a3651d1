"""Registration from scratch at a service-center counter, through the service layer, on the
real stack: dev server, worker, PostgreSQL, the simulated SMS gateway and agencies."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.errors import Refusal, StepRefused
from registration.journey import ConfirmationMethod, Level, Stage
from registration.messages import CounterClerk
from service.registrations import Registrations
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from store import repository
from store.passwords import verify_password
from tests.data import new_phone
from tests.waiting import wait_for

CLERK = CounterClerk(clerk_id="clk_counter_1", service_center_id="mfc-77-001")
ELSEWHERE = CounterClerk(clerk_id="clk_counter_2", service_center_id="mfc-50-002")
PASSWORD = "Zvezda#Polar7"


async def stage_of(registrations: Registrations, registration_id: str) -> Stage:
    return (await registrations.state(registration_id)).stage


async def registered_at_counter(
    registrations: Registrations, outbox: SimulatorControl, phone: str
) -> str:
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    started = await registrations.register_at_counter(CLERK, profile, phone=phone)
    assert started.created
    code = await outbox.sms_code(phone)
    verdict = await registrations.submit_contact_code(
        started.registration_id, code, counter=CLERK, step_id=uuid.uuid4().hex
    )
    assert verdict.accepted and verdict.stage is Stage.VERIFICATION
    return started.registration_id


async def test_a_person_registered_at_the_counter_is_confirmed_and_sets_a_password_by_link(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    phone = new_phone()
    registration_id = await registered_at_counter(registrations, outbox, phone)

    async def stage() -> Stage:
        return await stage_of(registrations, registration_id)

    await wait_for(Stage.CONFIRMED, stage, lambda s: s, what=registration_id)
    account = await repository.get_account_for_registration(store_engine, registration_id)
    assert account is not None and account.level is Level.CONFIRMED
    assert account.confirmation_method is ConfirmationMethod.SERVICE_CENTER
    assert account.password_hash is None, "the clerk never sets the password"

    link = urlsplit(await outbox.password_link(phone))
    query = parse_qs(link.query)
    assert query["registration"] == [registration_id]
    token = query["token"][0]
    with pytest.raises(StepRefused) as refused:
        await registrations.set_password_by_link(registration_id, "0" * 26, PASSWORD, PASSWORD)
    assert refused.value.code is Refusal.LINK_INVALID

    await registrations.set_password_by_link(registration_id, token, PASSWORD, PASSWORD)
    account = await repository.get_account_for_registration(store_engine, registration_id)
    assert account is not None and verify_password(account.password_hash, PASSWORD)
    with pytest.raises(StepRefused) as refused:
        await registrations.set_password_by_link(
            registration_id, token, "Other#Pass9", "Other#Pass9"
        )
    assert refused.value.code is Refusal.LINK_INVALID, "a link sets the password once"


async def test_whoever_holds_the_phone_cannot_take_over_a_counter_registration(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    phone = new_phone()
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    started = await registrations.register_at_counter(CLERK, profile, phone=phone)
    await outbox.sms_code(phone)

    # A portal start for the same phone joins nothing: the registration continues at the center.
    with pytest.raises(StepRefused) as refused:
        await registrations.start("Иванова", "Мария", phone=phone)
    assert refused.value.code is Refusal.AT_SERVICE_CENTER
    code = await outbox.sms_code(phone)
    with pytest.raises(StepRefused) as refused:
        await registrations.submit_contact_code(started.registration_id, code, counter=ELSEWHERE)
    assert refused.value.code is Refusal.AT_SERVICE_CENTER
    assert await stage_of(registrations, started.registration_id) is Stage.CONTACT


async def test_a_counter_start_takes_up_its_own_center_and_refuses_a_running_one_elsewhere(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    phone = new_phone()
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    first = await registrations.register_at_counter(CLERK, profile, phone=phone)
    await outbox.sms_code(phone)  # sent: no other code may go to the phone for a minute
    again = await registrations.register_at_counter(CLERK, profile, phone=phone)
    assert again.registration_id == first.registration_id and not again.created
    with pytest.raises(StepRefused) as refused:
        await registrations.register_at_counter(ELSEWHERE, profile, phone=phone)
    assert refused.value.code is Refusal.REGISTRATION_IN_PROGRESS

    online = new_phone()
    await registrations.start("Иванова", "Мария", phone=online)
    with pytest.raises(StepRefused) as refused:
        await registrations.register_at_counter(CLERK, profile, phone=online)
    assert refused.value.code is Refusal.REGISTRATION_IN_PROGRESS
    assert "online" in refused.value.message
