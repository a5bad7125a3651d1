"""The clerk's desk on the real stack: what a clerk finds and may see, a form sent twice being
one step, and the day of a service center."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal, Role
from registration.errors import InvalidInput
from registration.journey import Stage
from registration.messages import ConfirmationVerdict
from service.clerk_desk import (
    ClerkDesk,
    DeskWork,
    DocumentsSeen,
    Lookup,
    Outcome,
    SearchBy,
    Verdict,
    verdict_of,
)
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from store import clerks, repository
from store.repository import RegistrationNotFound
from tests.clerks import Applicant, applicant, new_center


@pytest.fixture
def desk(
    registrations: Registrations, store_engine: AsyncEngine, stack_settings: Settings
) -> ClerkDesk:
    return ClerkDesk(registrations, store_engine, stack_settings)


def a_clerk(center: str | None = None) -> Principal:
    return Principal(
        client_id=f"clk_{secrets.token_hex(8)}",
        role=Role.CLERK,
        name="Анна Петрова",
        service_center_id=center or new_center(),
    )


def documents(person: Applicant, **typed: str) -> DocumentsSeen:
    profile = person.profile
    seen = {
        "passport_series": profile.passport_series,
        "passport_number": profile.passport_number,
        "snils": profile.snils,
    }
    return DocumentsSeen(**{**seen, **typed})


async def lines(engine: AsyncEngine, rid: str, event: str, expected: int) -> int:
    """How many audit lines of `event` the registration has, once there are `expected` (the
    workflow writes them shortly after its answer), or after 3 s."""
    for _ in range(30):
        trail = await repository.list_audit(engine, rid)
        found = sum(1 for line in trail if line.event == event)
        if found >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # and no more come
    trail = await repository.list_audit(engine, rid)
    return sum(1 for line in trail if line.event == event)


async def test_a_person_is_found_by_each_document_and_shown_masked(
    desk: ClerkDesk,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    person = await applicant(registrations, outbox)
    profile = person.profile
    clerk = a_clerk()

    found = [
        await desk.find(clerk, Lookup(by=SearchBy.SNILS, snils=profile.snils)),
        await desk.find(clerk, Lookup(by=SearchBy.PHONE, phone=person.phone)),
        await desk.find(
            clerk,
            Lookup(
                by=SearchBy.PASSPORT,
                passport_series=f"{profile.passport_series[:2]} {profile.passport_series[2:]}",
                passport_number=profile.passport_number,
            ),
        ),
    ]

    for cards in found:
        assert [card.registration_id for card in cards] == [person.registration_id]
    card = found[0][0]
    assert card.awaiting and card.person is not None
    assert card.person.passport.ending == profile.passport_number[-4:]
    assert profile.passport_number not in repr(card)
    events = await clerks.list_events(store_engine, clerk.client_id)
    assert [(e.event, e.details) for e in events] == [
        ("searched", {"by": "snils", "found": 1}),
        ("searched", {"by": "phone", "found": 1}),
        ("searched", {"by": "passport", "found": 1}),
    ]
    assert {e.service_center_id for e in events} == {clerk.service_center_id}


async def test_a_lookup_typed_wrong_names_its_fields(desk: ClerkDesk) -> None:
    with pytest.raises(InvalidInput) as invalid:
        await desk.find(
            a_clerk(), Lookup(by=SearchBy.PASSPORT, passport_series="45", passport_number="x")
        )

    assert [(e.field, e.code) for e in invalid.value.errors] == [
        ("passport_series", "passport_series.format"),
        ("passport_number", "passport_number.format"),
    ]


async def test_a_form_sent_twice_is_one_step_and_the_same_form_with_other_documents_another(
    desk: ClerkDesk,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    person = await applicant(registrations, outbox)
    rid = person.registration_id
    clerk = a_clerk()
    form_id = secrets.token_urlsafe(16)
    wrong = documents(person, passport_series="0000")

    twice = await asyncio.gather(
        desk.confirm(clerk, rid, wrong, form_id), desk.confirm(clerk, rid, wrong, form_id)
    )
    again = await desk.confirm(clerk, rid, wrong, form_id)

    assert twice[0] == twice[1] == again == Verdict(confirmed=False, differs=("passport_series",))
    assert await lines(store_engine, rid, "confirmation_refused", 1) == 1

    other = await desk.confirm(clerk, rid, documents(person, snils="112-233-445 95"), form_id)
    assert other.differs == ("snils",)
    assert await lines(store_engine, rid, "confirmation_refused", 2) == 2

    confirmed = await asyncio.gather(
        *(desk.confirm(clerk, rid, documents(person), form_id) for _ in range(3))
    )
    assert {verdict.confirmed for verdict in confirmed} == {True}
    assert (await registrations.result(rid)).stage is Stage.CONFIRMED
    assert await lines(store_engine, rid, "identity_confirmed", 1) == 1


async def test_documents_typed_wrong_are_not_sent(
    desk: ClerkDesk,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    person = await applicant(registrations, outbox)

    with pytest.raises(InvalidInput) as invalid:
        await desk.confirm(
            a_clerk(), person.registration_id, documents(person, snils="112-233-445 96"), "short"
        )

    assert {e.field for e in invalid.value.errors} == {"snils", "form_id"}
    assert await lines(store_engine, person.registration_id, "confirmation_refused", 0) == 0


async def test_a_clerk_sees_what_awaits_confirmation_and_what_their_center_did_only(
    desk: ClerkDesk, registrations: Registrations, outbox: SimulatorControl
) -> None:
    person = await applicant(registrations, outbox)
    unverified = await applicant(registrations, outbox, Stage.PROFILE)
    here, there = a_clerk(), a_clerk()

    assert (await desk.card(there, person.registration_id)).awaiting
    with pytest.raises(RegistrationNotFound):
        await desk.card(here, unverified.registration_id)
    with pytest.raises(RegistrationNotFound):
        await desk.confirm(
            here, unverified.registration_id, documents(unverified), secrets.token_urlsafe(16)
        )

    await desk.confirm(here, person.registration_id, documents(person), secrets.token_urlsafe(16))
    await registrations.result(person.registration_id)  # the store has recorded it

    card = await desk.card(here, person.registration_id)
    assert not card.awaiting
    with pytest.raises(RegistrationNotFound):
        await desk.card(there, person.registration_id)


async def test_the_day_lists_the_centers_confirmations_of_today_newest_first(
    desk: ClerkDesk,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    center = new_center()
    me, colleague, elsewhere = a_clerk(center), a_clerk(center), a_clerk()
    first, second = [await applicant(registrations, outbox) for _ in range(2)]
    await desk.confirm(
        me, first.registration_id, documents(first, snils="112-233-445 95"), "form-one-0123456789"
    )
    await desk.confirm(colleague, second.registration_id, documents(second), "form-two-0123456789")
    await desk.confirm(elsewhere, first.registration_id, documents(first), "form-three-0123456789")
    await lines(store_engine, first.registration_id, "identity_confirmed", 1)
    await lines(store_engine, second.registration_id, "identity_confirmed", 1)

    day = await desk.day(me, datetime.now(UTC))

    assert [(e.registration_id, e.outcome, e.mine, e.differs) for e in day] == [
        (second.registration_id, Outcome.CONFIRMED, False, ()),
        (first.registration_id, Outcome.REFUSED, True, ("snils",)),
    ]
    assert {e.work for e in day} == {DeskWork.CONFIRMATION}
    assert day[0].clerk_id == colleague.client_id
    assert day[0].full_name == "Иванова Мария Петровна"
    assert await desk.day(me, datetime(2001, 1, 1, tzinfo=UTC)) != []  # since that day
    assert await desk.day(a_clerk(), datetime.now(UTC)) == []


def test_a_refusal_names_the_documents_the_workflow_names_in_order() -> None:
    refused = ConfirmationVerdict(
        confirmed=False,
        reason="Documents do not match: snils, passport_number",
        stage=Stage.IDENTITY,
        mismatched=["snils", "passport_number"],
    )

    assert verdict_of(refused) == Verdict(confirmed=False, differs=("passport_number", "snils"))
    unnamed = refused.model_copy(update={"mismatched": None})
    assert verdict_of(unnamed).differs == (), "the reason's text is not read"
