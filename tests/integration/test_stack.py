"""The whole stack, as in production but on loopback: a real Temporal dev server, the worker
with every real activity, the agency simulators over HTTP and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.errors import InvalidInput, Refusal, StepRefused
from registration.journey import ConfirmationMethod, Level, Stage
from registration.messages import ClerkConfirmation
from service.registrations import Registrations
from simulators.control import SimulatorControl
from store import repository
from store.repository import RegistrationNotFound
from tests.data import ADDRESS, PROFILE, new_phone
from tests.journeys import age_code_sends, walk


async def test_registration_reaches_confirmed_by_letter_on_the_real_stack(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    phone = new_phone()
    rid = await walk(registrations, outbox, Stage.IDENTITY, phone=phone)
    account = await repository.get_account_for_registration(store_engine, rid)
    assert account is not None and account.level == Level.STANDARD and account.inn

    chosen = await registrations.choose_method(rid, ConfirmationMethod.LETTER, ADDRESS)
    assert chosen.letter is not None
    code = await outbox.letter_code(chosen.letter.tracking_number)
    verdict = await registrations.submit_letter_code(rid, code.lower())
    assert verdict.accepted

    result = await registrations.result(rid)
    assert result.stage is Stage.CONFIRMED
    account = await repository.get_account_for_registration(store_engine, rid)
    assert account is not None
    assert account.level == Level.CONFIRMED
    assert account.confirmation_method == ConfirmationMethod.LETTER
    assert account.tax_cabinet_access is False
    events = [entry.event for entry in await repository.list_audit(store_engine, rid)]
    assert events[0] == "registration_started" and events[-1] == "identity_confirmed"
    description = await registrations.client.get_workflow_handle(rid).describe()
    assert await description.static_summary() == "Citizen registration by sms"
    assert "codec server" in (await description.static_details() or "")
    assert {"contact_confirmed", "password_set", "verified", "letter_ordered"} <= set(events)
    texts = [m.text for m in await outbox.messages(to=phone, kind="sms")]
    assert len(texts) == 3, "one code, one 'standard' notice, one 'confirmed' notice"


async def test_clerk_confirms_in_person_on_the_real_stack(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    rid = await walk(registrations, outbox, Stage.IDENTITY, phone=new_phone())
    await registrations.clerk_confirmation(
        rid,
        ClerkConfirmation(
            clerk_id="clerk-1",
            service_center_id="mfc-77",
            passport_series=PROFILE.passport_series,
            passport_number=PROFILE.passport_number,
            snils=PROFILE.snils,
        ),
    )
    result = await registrations.result(rid)
    assert result.method is ConfirmationMethod.IN_PERSON
    account = await repository.get_account_for_registration(store_engine, rid)
    assert account is not None and account.tax_cabinet_access is True


async def test_second_start_for_the_same_contact_finds_the_same_registration(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    phone = new_phone()
    first = await registrations.start("Иванова", "Мария", phone=phone)
    second = await registrations.start("Иванова", "Мария", phone=phone)
    assert first.registration_id == second.registration_id
    assert phone[2:] not in first.registration_id
    await outbox.sms_code(phone)
    assert len(await outbox.messages(to=phone, kind="sms")) == 1


async def test_contact_with_an_account_cannot_register_again(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    phone = new_phone()
    rid = await walk(registrations, outbox, Stage.IDENTITY, phone=phone)
    await registrations.cancel(rid, "support:test", "test over")
    assert (await registrations.result(rid)).stage is Stage.CANCELLED
    with pytest.raises(StepRefused) as finished:
        await registrations.choose_method(rid, ConfirmationMethod.IN_PERSON)
    assert finished.value.code == "already_finished"
    with pytest.raises(StepRefused) as refused:
        await registrations.start("Иванова", "Мария", phone=phone)
    assert refused.value.message.startswith("An account with this phone or e-mail exists")


async def test_unknown_registration_is_reported_as_not_found(
    registrations: Registrations,
) -> None:
    with pytest.raises(RegistrationNotFound):
        await registrations.state("reg-00000000000000000000000000000000")
    with pytest.raises(RegistrationNotFound):
        await registrations.request_new_code("reg-00000000000000000000000000000000")


async def test_a_contact_may_register_again_after_a_registration_ended(
    registrations: Registrations, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    phone = new_phone()
    first = await registrations.start("Иванова", "Мария", phone=phone)
    await outbox.sms_code(phone)
    await registrations.cancel(first.registration_id, "support:test", "typo in the name")
    assert (await registrations.result(first.registration_id)).stage is Stage.CANCELLED

    # At once, the contact's code budget spans registrations: no new code, so no new start.
    with pytest.raises(StepRefused) as limited:
        await registrations.start("Иванова", "Марина", phone=phone)
    assert limited.value.code is Refusal.RATE_LIMITED
    retry_at = datetime.fromisoformat(limited.value.details["retry_at"])
    assert retry_at <= datetime.now(UTC) + timedelta(seconds=61)
    await age_code_sends(store_engine, phone, timedelta(minutes=2))

    second = await registrations.start("Иванова", "Марина", phone=phone)
    assert second.registration_id != first.registration_id
    assert second.state.stage is Stage.CONTACT
    for _ in range(50):
        if len(await outbox.messages(to=phone, kind="sms")) == 2:
            break
        await asyncio.sleep(0.1)
    code = await outbox.sms_code(phone)
    assert (await registrations.submit_contact_code(second.registration_id, code)).accepted


async def test_password_with_the_persons_name_is_refused(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    phone = new_phone()
    started = await registrations.start("Сидоров", "Maxim", phone=phone)
    rid = started.registration_id
    await registrations.submit_contact_code(rid, await outbox.sms_code(phone))
    with pytest.raises(InvalidInput) as refused:
        await registrations.set_password(rid, "Maxim#Polar77", "Maxim#Polar77")
    assert [e.code for e in refused.value.errors] == ["password.contains_name"]
    assert (await registrations.state(rid)).stage is Stage.PASSWORD


async def test_e_mail_contact_is_confirmed_by_the_link_token(
    registrations: Registrations, outbox: SimulatorControl
) -> None:
    address = f"maria.{uuid.uuid4().hex[:8]}@example.ru"
    started = await registrations.start("Иванова", "Мария", email=address)
    token = await outbox.email_token(address)
    assert len(token) == 26
    verdict = await registrations.submit_contact_code(started.registration_id, token)
    assert verdict.accepted and verdict.stage is Stage.PASSWORD
