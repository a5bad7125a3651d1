"""The store's activities as Temporal runs them: stable names, definitive answers as
non-retryable failures, faults as retryable ones, and no personal data in either."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import bound
from activities.store import StoreActivities, _database_fault
from registration.activity_messages import (
    ActivatePassword,
    AuditEntry,
    CloseRegistration,
    ConfirmIdentity,
    OpenRegistration,
    SaveVerifiedProfile,
)
from registration.contact import Channel, Contact
from registration.errors import CONTACT_ALREADY_REGISTERED, PASSWORD_NOT_STAGED
from registration.journey import ConfirmationMethod, Level, Stage
from registration.person import Gender, Person, Profile
from store import repository
from store.db import make_engine
from store.passwords import hash_password
from store.repository import RegistrationNotFound
from store.schema import Account, RegistrationStatus

PERSON = Person(surname="Смирнов", name="Олег")


class Journey:
    """One registration driven through the activities, numbering audit seqs as it goes."""

    def __init__(self, activities: StoreActivities, contact: Contact | None = None) -> None:
        self.activities = activities
        self.registration_id = f"reg-{uuid.uuid4()}"
        self.contact = contact or Contact(
            channel=Channel.SMS, address=f"+7{uuid.uuid4().int % 10**10:010d}"
        )
        self.env = ActivityEnvironment()
        self._seq = 0

    def audit(self, stage: Stage, event: str) -> AuditEntry:
        self._seq += 1
        return AuditEntry(
            registration_id=self.registration_id, seq=self._seq, event=event, stage=stage
        )

    async def open(self) -> None:
        await self.env.run(
            self.activities.open_registration,
            OpenRegistration(
                registration_id=self.registration_id,
                contact=self.contact,
                person=PERSON,
                audit=self.audit(Stage.CONTACT, "opened"),
            ),
        )

    async def set_password(self, engine: AsyncEngine, *, staged: bool = True) -> None:
        if staged:
            await repository.stage_password(
                engine, self.registration_id, hash_password("Pa$$w0rd"), "staged-1"
            )
        await self.env.run(
            self.activities.activate_password,
            ActivatePassword(
                registration_id=self.registration_id,
                contact=self.contact,
                person=PERSON,
                audit=self.audit(Stage.PROFILE, "password_set"),
            ),
        )


@pytest.fixture
def store_activities(store_engine: AsyncEngine) -> StoreActivities:
    return StoreActivities(store_engine)


def test_activities_keep_their_registered_names(store_activities: StoreActivities) -> None:
    names = sorted(
        activity._Definition.must_from_callable(fn).name or "" for fn in bound(store_activities)
    )

    assert names == sorted(
        [
            "open_registration",
            "record_audit",
            "record_audits",
            "activate_password",
            "open_counter_account",
            "bind_session",
            "save_verified_profile",
            "confirm_identity",
            "close_registration",
        ]
    )


async def test_a_journey_through_the_activities_ends_with_a_confirmed_account(
    store_engine: AsyncEngine, store_activities: StoreActivities
) -> None:
    journey = Journey(store_activities)
    await journey.open()
    await journey.env.run(
        store_activities.record_audit, journey.audit(Stage.PASSWORD, "code_accepted")
    )
    await journey.set_password(store_engine)
    profile = Profile(
        surname=PERSON.surname,
        name=PERSON.name,
        gender=Gender.MALE,
        birth_date=date(1985, 1, 2),
        birth_place="г. Казань",
        passport_series="9205",
        passport_number="654321",
        passport_issue_date=date(2005, 2, 3),
        passport_issuer="МВД по Республике Татарстан",
        division_code="160-005",
        snils="11223344595",
    )
    await journey.env.run(
        store_activities.save_verified_profile,
        SaveVerifiedProfile(
            registration_id=journey.registration_id,
            profile=profile,
            inn=None,
            audit=journey.audit(Stage.IDENTITY, "verified"),
        ),
    )
    await journey.env.run(
        store_activities.confirm_identity,
        ConfirmIdentity(
            registration_id=journey.registration_id,
            method=ConfirmationMethod.IN_PERSON,
            tax_cabinet_access=True,
            audit=journey.audit(Stage.CONFIRMED, "confirmed"),
        ),
    )

    account = await repository.get_account_for_registration(store_engine, journey.registration_id)
    assert account is not None and account.level == Level.CONFIRMED
    registration = await repository.get_registration(store_engine, journey.registration_id)
    assert registration is not None and registration.status == RegistrationStatus.CONFIRMED
    trail = await repository.list_audit(store_engine, journey.registration_id)
    assert [line.seq for line in trail] == [1, 2, 3, 4, 5]


async def test_close_registration_activity_closes_it(
    store_engine: AsyncEngine, store_activities: StoreActivities
) -> None:
    journey = Journey(store_activities)
    await journey.open()

    await journey.env.run(
        store_activities.close_registration,
        CloseRegistration(
            registration_id=journey.registration_id,
            outcome=Stage.CANCELLED,
            audit=journey.audit(Stage.CANCELLED, "cancelled"),
        ),
    )

    registration = await repository.get_registration(store_engine, journey.registration_id)
    assert registration is not None and registration.status == RegistrationStatus.CANCELLED


async def test_a_registered_contact_is_a_non_retryable_answer(
    store_engine: AsyncEngine, store_activities: StoreActivities
) -> None:
    first = Journey(store_activities)
    await first.open()
    await first.set_password(store_engine)

    with pytest.raises(ApplicationError) as refused:
        await Journey(store_activities, first.contact).open()

    assert refused.value.type == CONTACT_ALREADY_REGISTERED
    assert refused.value.non_retryable
    assert first.contact.address not in str(refused.value)


async def test_a_password_that_was_not_staged_is_a_non_retryable_answer(
    store_engine: AsyncEngine, store_activities: StoreActivities
) -> None:
    journey = Journey(store_activities)
    await journey.open()

    with pytest.raises(ApplicationError) as refused:
        await journey.set_password(store_engine, staged=False)

    assert refused.value.type == PASSWORD_NOT_STAGED
    assert refused.value.non_retryable


async def test_a_step_out_of_order_stays_retryable(store_activities: StoreActivities) -> None:
    journey = Journey(store_activities)

    with pytest.raises(RegistrationNotFound):
        await journey.env.run(
            store_activities.record_audit, journey.audit(Stage.PASSWORD, "code_accepted")
        )


async def test_an_unreachable_database_is_a_retryable_fault_without_personal_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    nowhere = tmp_path_factory.mktemp("no-server")
    engine = make_engine(f"postgresql://postgres:@/postgres?host={nowhere}")
    journey = Journey(StoreActivities(engine))
    try:
        with pytest.raises(ApplicationError) as fault:
            await journey.open()
    finally:
        await engine.dispose()

    assert not fault.value.non_retryable
    assert fault.value.type == "OperationalError"
    assert fault.value.__cause__ is None
    assert journey.contact.address not in str(fault.value)


async def test_a_database_error_reaches_temporal_without_the_values_postgresql_quoted(
    store_engine: AsyncEngine,
) -> None:
    phone = f"+7{uuid.uuid4().int % 10**10:010d}"
    row = {"level": "simplified", "phone": phone, "surname": "-", "name": "-", "password_hash": "-"}
    async with store_engine.begin() as connection:
        await connection.execute(insert(Account).values(row))
    with pytest.raises(IntegrityError) as duplicate:
        async with store_engine.begin() as connection:
            await connection.execute(insert(Account).values(row))
    assert phone in str(duplicate.value)  # PostgreSQL names the key in its message

    fault = _database_fault(duplicate.value)

    assert phone not in str(fault)
    assert fault.type == "UniqueViolation"
    assert "23505" in str(fault)
    assert not fault.non_retryable
