"""The repository against a real PostgreSQL: every write applied once, audited, and refused
when the journey says so."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.activity_messages import (
    ActivatePassword,
    AuditEntry,
    BindSession,
    CloseRegistration,
    ConfirmIdentity,
    OpenRegistration,
    SaveVerifiedProfile,
)
from registration.contact import Channel, Contact
from registration.journey import ConfirmationMethod, Level, Stage
from registration.person import Gender, Person, Profile
from store import repository
from store.passwords import hash_password, verify_password
from store.repository import (
    AccountNotCreated,
    ContactAlreadyRegistered,
    PasswordNotStaged,
    PasswordStepOver,
    RegistrationClosed,
    RegistrationNotFound,
)
from store.schema import Account, RegistrationStatus

PERSON = Person(surname="Иванова", name="Анна")
PROFILE = Profile(
    surname="Петрова",
    name="Анна",
    patronymic="Сергеевна",
    gender=Gender.FEMALE,
    birth_date=date(1990, 5, 17),
    birth_place="г. Тверь",
    passport_series="2810",
    passport_number="123456",
    passport_issue_date=date(2010, 6, 1),
    passport_issuer="ОУФМС России по Тверской обл.",
    division_code="690-001",
    snils="11223344595",
)
# Hashing is slow on purpose; one hash serves every test that only needs some staged hash.
STAGED_HASH = hash_password("Correct-Horse-1")

# Audit seqs of the journey's steps, as a workflow would number them.
OPENED, CODE_ACCEPTED, PASSWORD_SET, VERIFIED, CONFIRMED, CLOSED = 1, 2, 3, 4, 5, 6


def phone() -> Contact:
    return Contact(channel=Channel.SMS, address=f"+7{uuid.uuid4().int % 10**10:010d}")


def email() -> Contact:
    return Contact(channel=Channel.EMAIL, address=f"{uuid.uuid4().hex}@example.org")


def audit(registration_id: str, seq: int, stage: Stage, event: str = "step") -> AuditEntry:
    return AuditEntry(registration_id=registration_id, seq=seq, event=event, stage=stage)


async def opened(
    engine: AsyncEngine, contact: Contact | None = None, registration_id: str | None = None
) -> OpenRegistration:
    """A new open registration, as its workflow would open it."""
    registration_id = registration_id or f"reg-{uuid.uuid4()}"
    step = OpenRegistration(
        registration_id=registration_id,
        contact=contact or phone(),
        person=PERSON,
        audit=audit(registration_id, OPENED, Stage.CONTACT, "opened"),
    )
    assert await repository.open_registration(engine, step)
    return step


def activation(step: OpenRegistration) -> ActivatePassword:
    return ActivatePassword(
        registration_id=step.registration_id,
        contact=step.contact,
        person=PERSON,
        audit=audit(step.registration_id, PASSWORD_SET, Stage.PROFILE, "password_set"),
    )


async def with_account(engine: AsyncEngine, contact: Contact | None = None) -> OpenRegistration:
    """A registration that has reached its simplified account."""
    step = await opened(engine, contact)
    await repository.stage_password(engine, step.registration_id, STAGED_HASH, "staged-1")
    assert await repository.activate_password(engine, activation(step))
    return step


def verified(registration_id: str, inn: str | None = "500100732259") -> SaveVerifiedProfile:
    return SaveVerifiedProfile(
        registration_id=registration_id,
        profile=PROFILE,
        inn=inn,
        audit=audit(registration_id, VERIFIED, Stage.IDENTITY, "verified"),
    )


def confirmation(registration_id: str, method: ConfirmationMethod) -> ConfirmIdentity:
    return ConfirmIdentity(
        registration_id=registration_id,
        method=method,
        tax_cabinet_access=method != ConfirmationMethod.LETTER,
        # Audited in the identity stage the step ends, as the workflow writes it.
        audit=audit(registration_id, CONFIRMED, Stage.IDENTITY, "identity_confirmed"),
    )


def closing(registration_id: str, outcome: Stage, seq: int = CLOSED) -> CloseRegistration:
    return CloseRegistration(
        registration_id=registration_id,
        outcome=outcome,
        audit=audit(registration_id, seq, outcome, "closed"),
    )


async def accounts_with_contact(engine: AsyncEngine, contact: Contact) -> int:
    column = Account.phone if contact.channel == Channel.SMS else Account.email
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(Account).where(column == contact.address)
        )
    return count or 0


# --- open_registration ------------------------------------------------------------------------


async def test_open_registration_records_an_open_registration_at_contact_stage(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)

    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None
    assert registration.status == RegistrationStatus.OPEN
    assert registration.stage == Stage.CONTACT
    assert (registration.channel, registration.contact) == (Channel.SMS, step.contact.address)
    assert registration.account_id is None
    assert registration.closed_at is None
    trail = await repository.list_audit(store_engine, step.registration_id)
    assert [(line.seq, line.event) for line in trail] == [(OPENED, "opened")]


async def test_open_registration_retried_is_applied_once(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)

    assert not await repository.open_registration(store_engine, step)

    assert len(await repository.list_audit(store_engine, step.registration_id)) == 1


async def test_open_registration_refuses_a_contact_that_has_an_account(
    store_engine: AsyncEngine,
) -> None:
    first = await with_account(store_engine)
    registration_id = f"reg-{uuid.uuid4()}"
    second = OpenRegistration(
        registration_id=registration_id,
        contact=first.contact,
        person=PERSON,
        audit=audit(registration_id, OPENED, Stage.CONTACT),
    )

    with pytest.raises(ContactAlreadyRegistered) as refused:
        await repository.open_registration(store_engine, second)

    assert first.contact.address not in str(refused.value)
    assert await repository.get_registration(store_engine, registration_id) is None
    assert await repository.list_audit(store_engine, registration_id) == []


async def test_e_mail_addresses_are_one_contact_whatever_their_case(
    store_engine: AsyncEngine,
) -> None:
    contact = email()
    await with_account(
        store_engine, Contact(channel=Channel.EMAIL, address=contact.address.upper())
    )

    with pytest.raises(ContactAlreadyRegistered):
        await opened(store_engine, contact)
    assert await repository.find_account_by_contact(store_engine, contact) is not None


# --- record_audit -----------------------------------------------------------------------------


async def test_record_audit_appends_a_line_and_moves_the_stage(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)
    entry = AuditEntry(
        registration_id=step.registration_id,
        seq=CODE_ACCEPTED,
        event="code_accepted",
        stage=Stage.PASSWORD,
        actor="citizen",
        details={"attempt": 2},
    )

    assert await repository.record_audit(store_engine, entry)

    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None and registration.stage == Stage.PASSWORD
    line = (await repository.list_audit(store_engine, step.registration_id))[-1]
    assert (line.seq, line.event, line.stage, line.actor, line.details) == (
        CODE_ACCEPTED,
        "code_accepted",
        Stage.PASSWORD,
        "citizen",
        {"attempt": 2},
    )


async def test_record_audit_retried_keeps_the_first_line(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)
    assert await repository.record_audit(
        store_engine, audit(step.registration_id, CODE_ACCEPTED, Stage.PASSWORD, "first")
    )

    assert not await repository.record_audit(
        store_engine, audit(step.registration_id, CODE_ACCEPTED, Stage.VERIFICATION, "second")
    )

    trail = await repository.list_audit(store_engine, step.registration_id)
    assert [(line.seq, line.event) for line in trail] == [(OPENED, "opened"), (2, "first")]
    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None and registration.stage == Stage.PASSWORD


async def test_record_audit_for_an_unknown_registration_raises_not_found(
    store_engine: AsyncEngine,
) -> None:
    with pytest.raises(RegistrationNotFound):
        await repository.record_audit(store_engine, audit("reg-unknown", 1, Stage.CONTACT))


async def test_record_audits_writes_a_batch_once_and_a_retry_only_what_is_missing(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    rid = step.registration_id
    first = [audit(rid, 2, Stage.PASSWORD, "code_accepted"), audit(rid, 3, Stage.PROFILE, "set")]

    assert await repository.record_audits(store_engine, first) == first
    retried = [*first, audit(rid, 4, Stage.VERIFICATION, "profile_submitted")]
    assert await repository.record_audits(store_engine, retried) == retried[2:]

    trail = await repository.list_audit(store_engine, rid)
    assert [line.event for line in trail] == ["opened", "code_accepted", "set", "profile_submitted"]
    registration = await repository.get_registration(store_engine, rid)
    assert registration is not None and registration.stage == Stage.VERIFICATION


async def test_record_audits_is_one_transaction(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)
    batch = [audit(step.registration_id, 2, Stage.PASSWORD), audit("reg-unknown", 3, Stage.PROFILE)]

    with pytest.raises(RegistrationNotFound):
        await repository.record_audits(store_engine, batch)

    trail = await repository.list_audit(store_engine, step.registration_id)
    assert [line.seq for line in trail] == [OPENED]  # the first line went back with the second


async def test_audit_trail_is_listed_in_seq_order(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)
    for seq in (7, 3, 5):
        await repository.record_audit(store_engine, audit(step.registration_id, seq, Stage.PROFILE))

    trail = await repository.list_audit(store_engine, step.registration_id)

    assert [line.seq for line in trail] == [OPENED, 3, 5, 7]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET event = 'forged' WHERE registration_id = :id",
        "DELETE FROM audit_events WHERE registration_id = :id",
        "TRUNCATE audit_events CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_audit_lines_cannot_be_changed_or_removed(
    store_engine: AsyncEngine, statement: str
) -> None:
    step = await opened(store_engine)

    with pytest.raises(DBAPIError, match="append-only"):
        async with store_engine.begin() as connection:
            await connection.execute(text(statement), {"id": step.registration_id})

    trail = await repository.list_audit(store_engine, step.registration_id)
    assert [line.event for line in trail] == ["opened"]


# --- stage_password and activate_password ---------------------------------------------------


async def test_stage_password_for_an_unknown_registration_raises_not_found(
    store_engine: AsyncEngine,
) -> None:
    with pytest.raises(RegistrationNotFound):
        await repository.stage_password(store_engine, "reg-unknown", STAGED_HASH, "staged-1")


async def test_stage_password_is_refused_once_the_registration_is_closed(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    await repository.close_registration(store_engine, closing(step.registration_id, Stage.EXPIRED))

    with pytest.raises(PasswordStepOver):
        await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")


async def test_stage_password_is_refused_once_the_account_exists(
    store_engine: AsyncEngine,
) -> None:
    step = await with_account(store_engine)

    with pytest.raises(PasswordStepOver):
        await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")


async def test_a_closed_registration_is_not_opened_again_and_its_sessions_are_revoked(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    rid = step.registration_id
    await repository.open_session(store_engine, rid, "ses_closed", f"hash-{rid}", "cl")
    assert await repository.close_registration(store_engine, closing(rid, Stage.CANCELLED))
    found = await repository.find_session(store_engine, rid, f"hash-{rid}")
    assert found is not None and found.revoked
    with pytest.raises(RegistrationClosed):
        await repository.open_registration(store_engine, step)  # its first start, sent again


async def test_a_closed_registration_s_account_does_not_change_any_more(
    store_engine: AsyncEngine,
) -> None:
    """A run of a closed registration brought back (a Temporal reset) confirms nothing."""
    step = await with_account(store_engine)
    rid = step.registration_id
    assert await repository.close_registration(store_engine, closing(rid, Stage.CANCELLED))
    confirm = ConfirmIdentity(
        registration_id=rid,
        method=ConfirmationMethod.IN_PERSON,
        tax_cabinet_access=True,
        audit=audit(rid, 99, Stage.IDENTITY, "identity_confirmed"),
    )
    with pytest.raises(RegistrationClosed):
        await repository.confirm_identity(store_engine, confirm)
    account = await repository.get_account_for_registration(store_engine, rid)
    assert account is not None and account.level is not Level.CONFIRMED
    events = [line.event for line in await repository.list_audit(store_engine, rid)]
    assert "identity_confirmed" not in events, "the refused step left no audit line"


async def test_only_the_staging_the_workflow_names_is_activated(
    store_engine: AsyncEngine,
) -> None:
    """Two submissions staged one after the other: the first one's activation is refused
    (it was replaced), the second one's stores its hash."""
    step = await opened(store_engine)
    later = hash_password("Kometa$Jupiter8")
    await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "first")
    await repository.stage_password(store_engine, step.registration_id, later, "second")
    first = activation(step).model_copy(update={"staged_id": "first"})
    with pytest.raises(PasswordNotStaged):
        await repository.activate_password(store_engine, first)
    second = activation(step).model_copy(update={"staged_id": "second"})
    assert await repository.activate_password(store_engine, second)
    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None and verify_password(account.password_hash, "Kometa$Jupiter8")


async def test_binding_a_session_proves_it_and_revokes_the_others(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    rid = step.registration_id
    for name in ("a", "b", "c"):
        await repository.open_session(store_engine, rid, f"ses_{name}", f"hash-{rid}-{name}", "cl")
    bind = BindSession(
        registration_id=rid, session_id="ses_b", audit=audit(rid, 2, Stage.CONTACT, "bound")
    )
    assert await repository.bind_session(store_engine, bind)
    assert not await repository.bind_session(store_engine, bind), "applied once"
    found = {
        name: await repository.find_session(store_engine, rid, f"hash-{rid}-{name}")
        for name in ("a", "b", "c")
    }
    assert found["b"] is not None and found["b"].proven and not found["b"].revoked
    for name in ("a", "c"):
        other = found[name]
        assert other is not None and other.revoked and not other.proven
    assert await repository.find_session(store_engine, "reg-other", f"hash-{rid}-b") is None


async def test_activate_password_creates_a_simplified_account_with_the_staged_password(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")
    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None and registration.password_staged

    assert await repository.activate_password(store_engine, activation(step))

    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None
    assert account.level == Level.SIMPLIFIED
    assert (account.phone, account.email) == (step.contact.address, None)
    assert (account.surname, account.name) == (PERSON.surname, PERSON.name)
    assert verify_password(account.password_hash, "Correct-Horse-1")
    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None
    assert registration.account_id == account.id
    assert not registration.password_staged
    assert registration.stage == Stage.PROFILE
    assert await repository.find_account_by_contact(store_engine, step.contact) == account


async def test_activate_password_retried_creates_one_account(store_engine: AsyncEngine) -> None:
    step = await with_account(store_engine)
    account = await repository.get_account_for_registration(store_engine, step.registration_id)

    assert not await repository.activate_password(store_engine, activation(step))

    assert await accounts_with_contact(store_engine, step.contact) == 1
    again = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert again == account
    assert len(await repository.list_audit(store_engine, step.registration_id)) == 2


async def test_concurrent_attempts_of_activate_password_create_one_account(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")

    results = await asyncio.gather(
        *(repository.activate_password(store_engine, activation(step)) for _ in range(3))
    )

    assert sorted(results) == [False, False, True]
    assert await accounts_with_contact(store_engine, step.contact) == 1


async def test_activate_password_without_a_staged_password_raises_and_leaves_no_trace(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)

    with pytest.raises(PasswordNotStaged):
        await repository.activate_password(store_engine, activation(step))

    assert await repository.get_account_for_registration(store_engine, step.registration_id) is None
    assert len(await repository.list_audit(store_engine, step.registration_id)) == 1
    # Nothing was recorded, so the same step succeeds once the portal stages the password.
    await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")
    assert await repository.activate_password(store_engine, activation(step))


async def test_activate_password_raises_when_another_registration_took_the_contact(
    store_engine: AsyncEngine,
) -> None:
    contact = email()
    first, second = await opened(store_engine, contact), await opened(store_engine, contact)
    for step in (first, second):
        await repository.stage_password(store_engine, step.registration_id, STAGED_HASH, "staged-1")
    assert await repository.activate_password(store_engine, activation(first))

    with pytest.raises(ContactAlreadyRegistered):
        await repository.activate_password(store_engine, activation(second))

    assert await accounts_with_contact(store_engine, contact) == 1
    assert (
        await repository.get_account_for_registration(store_engine, second.registration_id) is None
    )


# --- save_verified_profile and confirm_identity ---------------------------------------------


async def test_save_verified_profile_makes_the_account_standard(store_engine: AsyncEngine) -> None:
    step = await with_account(store_engine)

    assert await repository.save_verified_profile(store_engine, verified(step.registration_id))

    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None
    assert account.level == Level.STANDARD
    assert (account.surname, account.name) == (PROFILE.surname, PROFILE.name)
    assert (account.snils, account.inn) == (PROFILE.snils, "500100732259")
    assert account.profile is not None
    assert Profile.model_validate(account.profile) == PROFILE


async def test_save_verified_profile_retried_is_applied_once(store_engine: AsyncEngine) -> None:
    step = await with_account(store_engine)
    await repository.save_verified_profile(store_engine, verified(step.registration_id))

    assert not await repository.save_verified_profile(
        store_engine, verified(step.registration_id, inn=None)
    )

    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None and account.inn == "500100732259"


async def test_save_verified_profile_before_the_account_exists_raises(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)

    with pytest.raises(AccountNotCreated):
        await repository.save_verified_profile(store_engine, verified(step.registration_id))

    assert len(await repository.list_audit(store_engine, step.registration_id)) == 1


async def test_confirm_identity_confirms_the_account_and_closes_the_registration(
    store_engine: AsyncEngine,
) -> None:
    step = await with_account(store_engine)
    await repository.save_verified_profile(store_engine, verified(step.registration_id))

    assert await repository.confirm_identity(
        store_engine, confirmation(step.registration_id, ConfirmationMethod.LETTER)
    )

    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None
    assert account.level == Level.CONFIRMED
    assert account.confirmation_method == ConfirmationMethod.LETTER
    assert account.tax_cabinet_access is False
    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.stage == Stage.CONFIRMED
    assert registration.closed_at is not None


async def test_confirm_identity_retried_is_applied_once(store_engine: AsyncEngine) -> None:
    step = await with_account(store_engine)
    await repository.save_verified_profile(store_engine, verified(step.registration_id))
    await repository.confirm_identity(
        store_engine, confirmation(step.registration_id, ConfirmationMethod.BANK)
    )

    assert not await repository.confirm_identity(
        store_engine, confirmation(step.registration_id, ConfirmationMethod.LETTER)
    )

    account = await repository.get_account_for_registration(store_engine, step.registration_id)
    assert account is not None and account.confirmation_method == ConfirmationMethod.BANK


# --- close_registration -----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Stage.CANCELLED, Stage.EXPIRED, Stage.REFUSED])
async def test_close_registration_records_the_outcome(
    store_engine: AsyncEngine, outcome: Stage
) -> None:
    step = await opened(store_engine)

    assert await repository.close_registration(store_engine, closing(step.registration_id, outcome))

    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None
    assert registration.status == RegistrationStatus(outcome.value)
    assert registration.stage == outcome
    assert registration.closed_at is not None
    assert not await repository.close_registration(
        store_engine, closing(step.registration_id, outcome)
    )


async def test_a_closed_registration_keeps_its_first_outcome(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)
    await repository.close_registration(
        store_engine, closing(step.registration_id, Stage.CANCELLED)
    )
    first = await repository.get_registration(store_engine, step.registration_id)

    await repository.close_registration(
        store_engine, closing(step.registration_id, Stage.EXPIRED, seq=CLOSED + 1)
    )

    registration = await repository.get_registration(store_engine, step.registration_id)
    assert registration is not None and first is not None
    assert registration.status == RegistrationStatus.CANCELLED
    assert registration.stage == Stage.CANCELLED
    assert registration.closed_at == first.closed_at
    assert len(await repository.list_audit(store_engine, step.registration_id)) == 3


async def test_close_registration_rejects_an_outcome_that_does_not_close(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)

    with pytest.raises(ValueError):
        await repository.close_registration(
            store_engine, closing(step.registration_id, Stage.PROFILE)
        )


# --- readers and passwords --------------------------------------------------------------------


async def test_readers_return_none_for_what_does_not_exist(store_engine: AsyncEngine) -> None:
    step = await opened(store_engine)

    assert await repository.get_registration(store_engine, "reg-unknown") is None
    assert await repository.get_account_for_registration(store_engine, step.registration_id) is None
    assert await repository.find_account_by_contact(store_engine, phone()) is None
    assert await repository.list_audit(store_engine, "reg-unknown") == []


async def test_records_keep_personal_data_out_of_their_repr(store_engine: AsyncEngine) -> None:
    step = await with_account(store_engine)
    await repository.save_verified_profile(store_engine, verified(step.registration_id))

    registration = await repository.get_registration(store_engine, step.registration_id)
    account = await repository.get_account_for_registration(store_engine, step.registration_id)

    shown = repr(registration) + repr(account)
    for secret in (step.contact.address, PROFILE.surname, PROFILE.snils, STAGED_HASH):
        assert secret not in shown


def test_a_password_hash_verifies_the_password_and_is_not_the_password() -> None:
    password_hash = hash_password("Correct-Horse-1")

    assert "Correct-Horse-1" not in password_hash
    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "Correct-Horse-1")
    assert not verify_password(password_hash, "correct-horse-1")
    assert hash_password("Correct-Horse-1") != password_hash  # salted


async def test_the_last_closed_attempt_of_a_contact_is_found(store_engine: AsyncEngine) -> None:
    contact, digest = email(), uuid.uuid4().hex
    assert await repository.last_closed_attempt(store_engine, contact) == 0
    first = await opened(store_engine, contact, f"reg-{digest}-1")
    assert await repository.last_closed_attempt(store_engine, contact) == 0, "open"
    await repository.close_registration(store_engine, closing(first.registration_id, Stage.EXPIRED))
    upper = Contact(channel=Channel.EMAIL, address=contact.address.upper())
    assert await repository.last_closed_attempt(store_engine, upper) == 1
    assert await repository.last_closed_attempt(store_engine, phone()) == 0
    # Attempt 2's id was taken by a workflow we never started: the next one is attempt 3.
    third = await opened(store_engine, contact, f"reg-{digest}-3")
    await repository.close_registration(store_engine, closing(third.registration_id, Stage.EXPIRED))
    assert await repository.last_closed_attempt(store_engine, contact) == 3
    assert await repository.is_known(store_engine, third.registration_id)
    assert not await repository.is_known(store_engine, f"reg-{digest}-2")


async def test_the_registration_keeps_the_name_typed_at_the_start(
    store_engine: AsyncEngine,
) -> None:
    step = await opened(store_engine)
    record = await repository.get_registration(store_engine, step.registration_id)
    assert record is not None and (record.surname, record.name) == ("Иванова", "Анна")
