"""The counter's desk on the real stack: the form said field by field, a code form sent twice
being one step, the registration reached by its own center only, and the center's day listing
it once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.errors import InvalidInput
from registration.journey import Stage
from registration.person import Profile
from service.clerk_desk import ClerkDesk, DeskWork, Outcome
from service.counter_desk import CounterDesk, CounterForm, read_profile
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from store.repository import RegistrationNotFound
from tests.data import new_phone
from tests.service.test_clerk_desk import a_clerk
from tests.waiting import wait_for

TODAY = date(2026, 11, 30)


@pytest.fixture
def counter(
    registrations: Registrations, store_engine: AsyncEngine, stack_settings: Settings
) -> CounterDesk:
    return CounterDesk(registrations, store_engine, stack_settings)


def typed(profile: Profile, phone: str = "") -> CounterForm:
    """The form as a clerk fills it from `profile`'s documents."""
    return CounterForm(**{**CounterForm.of(profile).__dict__, "phone": phone})


def test_a_form_read_back_is_the_profile_it_was_filled_with() -> None:
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    form = CounterForm.of(profile)

    assert form.birth_date == "15.05.1990" and form.gender == "female"
    assert read_profile(form, TODAY) == read_profile(
        CounterForm(**{**form.__dict__, "passport_series": "45 12", "birth_date": "1990-05-15"}),
        TODAY,
    ), "spaces in a passport's digits and ISO dates are taken as read"
    assert read_profile(form, TODAY).passport_number == profile.passport_number


def test_the_form_names_every_field_typed_wrong_in_the_forms_order() -> None:
    form = CounterForm(
        surname="Иванова",
        name="Мария",
        birth_date="31.02.1990",
        birth_place="г. Москва",
        passport_series="4512",
        passport_number="12345",
        passport_issue_date="01.06.2010",
        passport_issuer="ОВД",
        division_code="77-0001",
        snils="112-233-445 96",
    )

    with pytest.raises(InvalidInput) as invalid:
        read_profile(form, TODAY)

    assert [(e.field, e.code) for e in invalid.value.errors] == [
        ("gender", "gender.required"),
        ("birth_date", "date.format"),
        ("passport_number", "passport_number.format"),
        ("division_code", "division_code.format"),
        ("snils", "snils.checksum"),
    ], "a date typed wrong adds no rule of its own (its placeholder broke none)"


async def test_a_registration_without_a_contact_is_not_started(counter: CounterDesk) -> None:
    profile = verifiable_profile(random_snils_body(), random_passport_number())

    with pytest.raises(InvalidInput) as invalid:
        await counter.register(a_clerk(), typed(profile))

    assert [(e.field, e.code) for e in invalid.value.errors] == [("phone", "contact.required")]


async def test_a_code_form_sent_twice_is_one_step_and_only_the_center_reaches_it(
    counter: CounterDesk, outbox: SimulatorControl
) -> None:
    clerk, elsewhere = a_clerk(), a_clerk()
    colleague = a_clerk(clerk.service_center_id)
    phone = new_phone()
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    started = await counter.register(clerk, typed(profile, phone))
    rid = started.registration_id
    card = await counter.card(colleague, rid)
    assert card.stage is Stage.CONTACT and card.view is not None
    assert card.view.code_expires_at is not None, "the page opens once the code is out"
    assert card.person is not None and card.person.surname == "Иванова"
    assert profile.passport_number not in repr(card)

    code = await outbox.sms_code(phone)
    resent = await counter.register(colleague, typed(profile, phone))  # the form sent again
    assert (resent.registration_id, resent.created) == (rid, False), "taken up, code or none"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    form_id = secrets.token_urlsafe(16)
    twice = await asyncio.gather(
        counter.enter_code(clerk, rid, wrong, form_id),
        counter.enter_code(clerk, rid, wrong, form_id),
    )
    again = await counter.enter_code(clerk, rid, wrong, form_id)
    assert [verdict.attempts_left for verdict in (*twice, again)] == [2, 2, 2]
    another_form = await counter.enter_code(colleague, rid, wrong, secrets.token_urlsafe(16))
    assert another_form.attempts_left == 1

    with pytest.raises(RegistrationNotFound):
        await counter.card(elsewhere, rid)
    with pytest.raises(RegistrationNotFound):
        await counter.enter_code(elsewhere, rid, code, secrets.token_urlsafe(16))
    with pytest.raises(InvalidInput) as invalid:
        await counter.enter_code(clerk, rid, "12 34", secrets.token_urlsafe(16))
    assert {e.field for e in invalid.value.errors} == {"code"}

    accepted = await counter.enter_code(clerk, rid, code, secrets.token_urlsafe(16))
    assert accepted.accepted and accepted.stage is Stage.VERIFICATION


async def test_the_day_lists_a_registration_from_scratch_once_with_where_it_stands(
    counter: CounterDesk,
    registrations: Registrations,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    outbox: SimulatorControl,
) -> None:
    clerk = a_clerk()
    desk = ClerkDesk(registrations, store_engine, stack_settings)
    phone = new_phone()
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    rid = (await counter.register(clerk, typed(profile, phone))).registration_id

    waiting = await desk.day(clerk, datetime.now(UTC))
    assert [(e.registration_id, e.work, e.outcome, e.mine) for e in waiting] == [
        (rid, DeskWork.REGISTRATION, Outcome.AWAITING_CODE, True)
    ]
    await counter.enter_code(clerk, rid, await outbox.sms_code(phone), secrets.token_urlsafe(16))
    await wait_for(Stage.CONFIRMED, lambda: registrations.state(rid), lambda view: view.stage)
    await registrations.result(rid)  # the store has recorded it

    day = await desk.day(a_clerk(clerk.service_center_id), datetime.now(UTC))
    assert [(e.registration_id, e.outcome, e.mine) for e in day] == [
        (rid, Outcome.CONFIRMED, False)
    ], "its identity_confirmed line is not a second entry"
    assert day[0].full_name == "Иванова Мария Петровна"
    assert day[0].clerk_id == clerk.client_id
