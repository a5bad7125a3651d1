"""Every read and write of the account store.

Each write is one transaction that also appends the step's audit line. The line's
(registration_id, seq) is the step's idempotency key: the line is inserted with
`ON CONFLICT DO NOTHING`, and when it was there already the step was applied before, so the
write returns `False` and changes nothing. A retried activity therefore never applies a step
twice, and a step that raises leaves no trace, its audit line included.

Writes lock the registration row first, so the steps of one registration (and the portal's
`stage_password`) take turns. Exceptions here carry ids only, never personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from registration.activity_messages import (
    ActivatePassword,
    AuditEntry,
    BindSession,
    CloseRegistration,
    ConfirmIdentity,
    OpenCounterAccount,
    OpenRegistration,
    SaveVerifiedProfile,
)
from registration.contact import Channel, Contact
from registration.journey import ConfirmationMethod, Level, Origin, Stage
from store.schema import (
    Account,
    AuditEvent,
    Registration,
    RegistrationSession,
    RegistrationStatus,
)

# --- errors -----------------------------------------------------------------------------------


class StoreError(Exception):
    """A write the store refused; the message names ids only."""


class ContactAlreadyRegistered(StoreError):
    """An account with this phone or e-mail exists already."""


class RegistrationClosed(StoreError):
    """A step of a registration the store has closed: it is not opened again (its id is never
    reused) and its account and sessions do not change any more."""


class PasswordNotStaged(StoreError):
    """`activate_password` found no password hash staged for the registration."""


class RegistrationNotFound(StoreError):
    """No registration has this id (the service raises it too, for one Temporal does not
    know or a session that is not the caller's)."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(f"No registration {registration_id}")
        self.registration_id = registration_id


class PasswordStepOver(StoreError):
    """The registration no longer takes a password: it is closed, or its account exists."""


class AccountNotCreated(StoreError):
    """A step that needs the registration's account came before `activate_password`."""


CLOSING_STATUSES = {
    Stage.CANCELLED: RegistrationStatus.CANCELLED,
    Stage.EXPIRED: RegistrationStatus.EXPIRED,
    Stage.REFUSED: RegistrationStatus.REFUSED,
}
"""The outcomes `close_registration` accepts, and the status each one gives."""


# --- what readers return ----------------------------------------------------------------------
# Plain frozen records rather than ORM objects, so nothing outside this module can lazy-load
# or change a row behind the repository's back. Personal fields stay out of repr(), so a
# record that ends up in a log line leaks nothing.


@dataclass(frozen=True)
class RegistrationRecord:
    registration_id: str
    account_id: uuid.UUID | None
    channel: Channel
    contact: str = field(repr=False)
    surname: str = field(repr=False)
    name: str = field(repr=False)
    status: RegistrationStatus
    stage: Stage
    password_staged: bool
    origin: Origin
    service_center_id: str | None
    clerk_id: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class AccountRecord:
    id: uuid.UUID
    level: Level
    phone: str | None = field(repr=False)
    email: str | None = field(repr=False)
    surname: str = field(repr=False)
    name: str = field(repr=False)
    password_hash: str | None = field(repr=False)
    """None until the citizen of a counter registration sets it through the link."""
    profile: dict[str, Any] | None = field(repr=False)
    snils: str | None = field(repr=False)
    inn: str | None = field(repr=False)
    confirmation_method: ConfirmationMethod | None
    tax_cabinet_access: bool | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RegistrationSummary:
    """What the consistency check (`ops.consistency`) compares with the workflow: the row, the
    account's level and profile, and how often each step that shows in the account was
    audited (`STEP_EVENTS`)."""

    registration_id: str
    status: RegistrationStatus
    stage: Stage
    level: Level
    """`none` before the account exists."""
    profile_stored: bool
    audited: dict[str, int]


STEP_EVENTS = ("registration_started", "contact_confirmed", "password_set", "verified")
"""The audit events `RegistrationSummary.audited` counts (`identity_confirmed` shows in the
status): each is written by the same transaction as the change it stands for."""


@dataclass(frozen=True)
class AuditRecord:
    registration_id: str
    seq: int
    event: str
    stage: Stage
    actor: str
    details: dict[str, Any] = field(repr=False)
    recorded_at: datetime


# --- writes (activities) ----------------------------------------------------------------------


async def open_registration(engine: AsyncEngine, step: OpenRegistration) -> bool:
    """Record a new open registration for `step.contact`. Raises `ContactAlreadyRegistered`
    when an account has this contact, `RegistrationClosed` when this registration was closed
    already (a run started again with its first input). Returns False when the step had been
    applied before."""
    counter = step.counter
    async with _transaction(engine) as session:
        # The row goes in first because the audit line refers to it; a retry finds both.
        await session.execute(
            insert(Registration)
            .values(
                registration_id=step.registration_id,
                channel=step.contact.channel.value,
                contact=step.contact.address,
                surname=step.person.surname,
                name=step.person.name,
                status=RegistrationStatus.OPEN.value,
                stage=step.audit.stage.value,
                origin=(Origin.PORTAL if counter is None else Origin.SERVICE_CENTER).value,
                service_center_id=None if counter is None else counter.service_center_id,
                clerk_id=None if counter is None else counter.clerk_id,
            )
            .on_conflict_do_nothing(index_elements=[Registration.registration_id])
        )
        registration = await _lock_registration(session, step.registration_id)
        if registration.status != RegistrationStatus.OPEN:
            raise RegistrationClosed(f"registration {step.registration_id}")
        if not await _append_audit(session, step.audit):
            return False
        if await _account_id_for(session, step.contact) is not None:
            raise ContactAlreadyRegistered(f"registration {step.registration_id}")
        return True


async def record_audit(engine: AsyncEngine, entry: AuditEntry) -> bool:
    """Append `entry` and, while the registration is open, move it to `entry.stage`. Raises
    `RegistrationNotFound`. Returns False when the entry had been recorded before."""
    async with _transaction(engine) as session:
        return await _begin_step(session, entry) is not None


async def record_audits(engine: AsyncEngine, entries: list[AuditEntry]) -> list[AuditEntry]:
    """`record_audit` for each of `entries` (oldest first), in one transaction; the entries
    recorded now (the others had been recorded before)."""
    async with _transaction(engine) as session:
        return [entry for entry in entries if await _begin_step(session, entry) is not None]


async def stage_password(
    engine: AsyncEngine, registration_id: str, password_hash: str, staged_id: str
) -> None:
    """Keep `password_hash` (from `store.passwords.hash_password`) as staging `staged_id`
    until the workflow's `activate_password` for that staging moves it into the new account;
    a later call replaces it, and then only the later staging can be activated. Not an
    activity: the portal calls it before telling the workflow a password was set. Raises
    `RegistrationNotFound`, or `PasswordStepOver` once the registration is closed or has its
    account."""
    async with _transaction(engine) as session:
        registration = await _lock_registration(session, registration_id)
        if registration.status != RegistrationStatus.OPEN or registration.account_id is not None:
            raise PasswordStepOver(f"registration {registration_id}")
        registration.pending_password_hash = password_hash
        registration.pending_password_id = staged_id


async def activate_password(engine: AsyncEngine, step: ActivatePassword) -> bool:
    """Create the registration's account (level simplified) with the staged password hash, on
    the registration's own contact. Raises `RegistrationNotFound`, `PasswordNotStaged`, or
    `ContactAlreadyRegistered` when another registration's account took the contact meanwhile.
    Returns False when the step had been applied before."""
    async with _transaction(engine) as session:
        registration = await _begin_open_step(session, step.audit)
        if registration is None:
            return False
        if registration.account_id is not None:
            # An earlier password_set (another audit seq) created it and its answer was lost.
            return False
        if registration.pending_password_hash is None or (
            step.staged_id is not None and registration.pending_password_id != step.staged_id
        ):
            # Another submission staged its password since: that one's update activates it.
            raise PasswordNotStaged(f"registration {step.registration_id}")
        contact = Contact(channel=Channel(registration.channel), address=registration.contact)
        account_id = await _insert_account(
            session,
            contact=contact,
            surname=step.person.surname,
            name=step.person.name,
            password_hash=registration.pending_password_hash,
        )
        if account_id is None:
            raise ContactAlreadyRegistered(f"registration {step.registration_id}")
        registration.account_id = account_id
        registration.pending_password_hash = None
        registration.pending_password_id = None
        return True


async def open_counter_account(engine: AsyncEngine, step: OpenCounterAccount) -> bool:
    """Create the account (level simplified) of a registration made at a counter, without a
    password: the citizen sets it later through a one-time link. Raises
    `RegistrationNotFound`, or `ContactAlreadyRegistered` when another registration's account
    took the contact meanwhile. Returns False when the step had been applied before."""
    async with _transaction(engine) as session:
        registration = await _begin_open_step(session, step.audit)
        if registration is None or registration.account_id is not None:
            return False
        contact = Contact(channel=Channel(registration.channel), address=registration.contact)
        account_id = await _insert_account(
            session,
            contact=contact,
            surname=registration.surname,
            name=registration.name,
            password_hash=None,
        )
        if account_id is None:
            raise ContactAlreadyRegistered(f"registration {step.registration_id}")
        registration.account_id = account_id
        return True


async def bind_session(engine: AsyncEngine, step: BindSession) -> bool:
    """Make `step.session_id` the registration's proven session (the contact code was entered
    through it) and revoke every other session of the registration, with the audit line.
    Returns False when the step had been applied before."""
    async with _transaction(engine) as session:
        if await _begin_open_step(session, step.audit) is None:
            return False
        sessions = RegistrationSession.registration_id == step.registration_id
        await session.execute(
            update(RegistrationSession)
            .where(sessions, RegistrationSession.id == step.session_id)
            .values(proven_at=func.now(), revoked_at=None)
        )
        await session.execute(
            update(RegistrationSession)
            .where(
                sessions,
                RegistrationSession.id != step.session_id,
                RegistrationSession.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
        )
        return True


async def save_verified_profile(engine: AsyncEngine, step: SaveVerifiedProfile) -> bool:
    """Store the verified profile, SNILS and INN on the account and make it `standard` (a
    confirmed account stays confirmed). Raises `RegistrationNotFound`, `AccountNotCreated`.
    Returns False when the step had been applied before."""
    async with _transaction(engine) as session:
        registration = await _begin_open_step(session, step.audit)
        if registration is None:
            return False
        account = await _lock_account(session, registration)
        account.profile = step.profile.model_dump(mode="json")
        account.surname = step.profile.surname
        account.name = step.profile.name
        account.snils = step.profile.snils
        account.inn = step.inn
        if account.level == Level.SIMPLIFIED:
            account.level = Level.STANDARD.value
        return True


async def confirm_identity(engine: AsyncEngine, step: ConfirmIdentity) -> bool:
    """Make the account `confirmed` by `step.method` and close the registration as confirmed.
    Raises `RegistrationNotFound`, `AccountNotCreated`. Returns False when the step had been
    applied before."""
    async with _transaction(engine) as session:
        registration = await _begin_open_step(session, step.audit)
        if registration is None:
            return False
        account = await _lock_account(session, registration)
        account.level = Level.CONFIRMED.value
        account.confirmation_method = step.method.value
        account.tax_cabinet_access = step.tax_cabinet_access
        _close(registration, RegistrationStatus.CONFIRMED)
        # The step is audited in the identity stage it ends; a closed row's stage is its outcome.
        registration.stage = Stage.CONFIRMED.value
        return True


async def close_registration(engine: AsyncEngine, step: CloseRegistration) -> bool:
    """Close the registration as cancelled, expired or refused (`step.outcome`; any other
    stage raises ValueError). A registration closed already keeps its first outcome and
    stage; the audit line is recorded either way. Raises `RegistrationNotFound`. Returns
    False when the step had been applied before."""
    status = CLOSING_STATUSES.get(step.outcome)
    if status is None:
        raise ValueError(f"{step.outcome} does not close a registration")
    async with _transaction(engine) as session:
        registration = await _begin_step(session, step.audit)
        if registration is None:
            return False
        _close(registration, status)
        await _revoke_sessions(session, step.registration_id)
        return True


async def close_abandoned_registration(
    engine: AsyncEngine, registration_id: str, *, actor: str, reason: str, workflow_status: str
) -> bool:
    """Close as cancelled an open registration whose workflow ended without closing it
    (terminated by hand, failed), with an audit line naming `actor`, `reason` and how the
    workflow ended; the contact may then register again. Only for a workflow that has ended:
    a running one would write after this line. Raises `RegistrationNotFound`. Returns False
    when the registration was closed already."""
    async with _transaction(engine) as session:
        registration = await _lock_registration(session, registration_id)
        if registration.status != RegistrationStatus.OPEN:
            return False
        last = await session.scalar(
            select(func.max(AuditEvent.seq)).where(AuditEvent.registration_id == registration_id)
        )
        entry = AuditEntry(
            registration_id=registration_id,
            seq=(last or 0) + 1,
            event="closed_after_workflow_ended",
            stage=Stage.CANCELLED,
            actor=actor,
            details={"reason": reason, "workflow_status": workflow_status},
        )
        await _begin_step(session, entry)
        _close(registration, RegistrationStatus.CANCELLED)
        return True


async def open_session(
    engine: AsyncEngine, registration_id: str, session_id: str, token_hash: str, client_id: str
) -> None:
    """Record a new, unproven session of the registration (`RegistrationSession`)."""
    async with _transaction(engine) as session:
        await session.execute(
            insert(RegistrationSession).values(
                id=session_id,
                registration_id=registration_id,
                token_hash=token_hash,
                client_id=client_id,
            )
        )


async def discard_session(engine: AsyncEngine, session_id: str) -> None:
    """Forget a session that never proved the contact (a refused e-mail link)."""
    async with _transaction(engine) as session:
        await session.execute(
            delete(RegistrationSession).where(
                RegistrationSession.id == session_id, RegistrationSession.proven_at.is_(None)
            )
        )


# --- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    id: str
    registration_id: str
    client_id: str
    """The API client (portal) that opened it: only it may use it."""
    proven: bool
    revoked: bool


async def find_session(
    engine: AsyncEngine, registration_id: str, token_hash: str
) -> SessionRecord | None:
    """The session of this registration whose secret has this keyed hash, if any."""
    async with AsyncSession(engine) as session:
        row = (
            await session.execute(
                select(
                    RegistrationSession.id,
                    RegistrationSession.client_id,
                    RegistrationSession.proven_at,
                    RegistrationSession.revoked_at,
                ).where(
                    RegistrationSession.token_hash == token_hash,
                    RegistrationSession.registration_id == registration_id,
                )
            )
        ).one_or_none()
    if row is None:
        return None
    return SessionRecord(
        id=row.id,
        registration_id=registration_id,
        client_id=row.client_id,
        proven=row.proven_at is not None,
        revoked=row.revoked_at is not None,
    )


async def get_registration(engine: AsyncEngine, registration_id: str) -> RegistrationRecord | None:
    async with AsyncSession(engine) as session:
        registration = await session.get(Registration, registration_id)
        return None if registration is None else _registration_record(registration)


async def get_account_for_registration(
    engine: AsyncEngine, registration_id: str
) -> AccountRecord | None:
    """The account the registration created, or None before `activate_password`."""
    async with AsyncSession(engine) as session:
        account = await session.scalar(
            select(Account)
            .join(Registration, Registration.account_id == Account.id)
            .where(Registration.registration_id == registration_id)
        )
        return None if account is None else _account_record(account)


async def find_account_by_contact(engine: AsyncEngine, contact: Contact) -> AccountRecord | None:
    """The account with this phone, or this e-mail address in any letter case."""
    async with AsyncSession(engine) as session:
        account = await session.scalar(select(Account).where(_has_contact(contact)))
        return None if account is None else _account_record(account)


async def last_closed_attempt(engine: AsyncEngine, contact: Contact) -> int:
    """The highest attempt number (the registration id's last part) among this contact's
    registrations that have ended (confirmed, cancelled, expired, refused); 0 if none has.
    The next registration is a later attempt: numbers taken by anyone else are skipped."""
    if contact.channel == Channel.SMS:
        same_contact = Registration.contact == contact.address
    else:
        same_contact = func.lower(Registration.contact) == func.lower(contact.address)
    async with AsyncSession(engine) as session:
        closed = await session.scalars(
            select(Registration.registration_id).where(
                Registration.channel == contact.channel.value,
                same_contact,
                Registration.status != RegistrationStatus.OPEN.value,
            )
        )
        attempts = [
            int(rid.rpartition("-")[2]) for rid in closed if rid.rpartition("-")[2].isdigit()
        ]
        return max(attempts, default=0)


async def is_known(engine: AsyncEngine, registration_id: str) -> bool:
    """Whether the store has opened this registration (its first activity does)."""
    async with AsyncSession(engine) as session:
        found = await session.scalar(
            select(Registration.registration_id).where(
                Registration.registration_id == registration_id
            )
        )
        return found is not None


async def awaiting_identity_confirmation(
    engine: AsyncEngine, *, snils: str | None = None, phone: str | None = None
) -> list[str]:
    """Open registrations whose account is verified (`standard`) and belongs to the person
    with this SNILS (11 digits) or this phone: what a clerk may confirm. Newest first."""
    if snils is None and phone is None:
        return []
    wanted = []
    if snils is not None:
        wanted.append(Account.snils == snils)
    if phone is not None:
        wanted.append(Registration.contact == phone)
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(Registration.registration_id)
            .join(Account, Account.id == Registration.account_id)
            .where(
                Registration.status == RegistrationStatus.OPEN.value,
                Account.level == Level.STANDARD.value,
                or_(*wanted),
            )
            .order_by(Registration.created_at.desc())
            .limit(20)
        )
        return list(rows)


async def summarize_registrations(
    engine: AsyncEngine, registration_ids: Collection[str] | None = None, *, batch: int = 1000
) -> AsyncIterator[RegistrationSummary]:
    """Every registration (or those of `registration_ids`) as the consistency check reads it,
    in id order, `batch` rows per query."""
    audited = [
        func.count(AuditEvent.id).filter(AuditEvent.event == event).label(event)
        for event in STEP_EVENTS
    ]
    after = ""
    while True:
        query = (
            select(
                Registration.registration_id,
                Registration.status,
                Registration.stage,
                Account.level,
                Account.profile.is_not(None).label("profile_stored"),
                *audited,
            )
            .outerjoin(Account, Account.id == Registration.account_id)
            .outerjoin(
                AuditEvent,
                and_(
                    AuditEvent.registration_id == Registration.registration_id,
                    AuditEvent.event.in_(STEP_EVENTS),
                ),
            )
            .where(Registration.registration_id > after)
            .group_by(Registration.registration_id, Account.id)
            .order_by(Registration.registration_id)
            .limit(batch)
        )
        if registration_ids is not None:
            query = query.where(Registration.registration_id.in_(list(registration_ids)))
        async with AsyncSession(engine) as session:
            rows = (await session.execute(query)).all()
        for row in rows:
            yield RegistrationSummary(
                registration_id=row.registration_id,
                status=RegistrationStatus(row.status),
                stage=Stage(row.stage),
                level=Level(row.level) if row.level is not None else Level.NONE,
                profile_stored=bool(row.profile_stored),
                audited={event: getattr(row, event) for event in STEP_EVENTS},
            )
        if len(rows) < batch:
            return
        after = rows[-1].registration_id


async def open_registrations_sharing_a_contact(engine: AsyncEngine) -> list[list[str]]:
    """Groups of open registrations with one phone or e-mail address (in any letter case):
    there must be none, a contact's running registration is found, not started again."""
    async with AsyncSession(engine) as session:
        groups = await session.scalars(
            select(func.array_agg(Registration.registration_id))
            .where(Registration.status == RegistrationStatus.OPEN.value)
            .group_by(Registration.channel, func.lower(Registration.contact))
            .having(func.count() > 1)
        )
        return [sorted(group) for group in groups]


async def list_audit(
    engine: AsyncEngine, registration_id: str, *, after_seq: int = 0, limit: int | None = None
) -> list[AuditRecord]:
    """The registration's audit trail, in `seq` order: the lines after `after_seq`, at most
    `limit` of them (all when None)."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.registration_id == registration_id, AuditEvent.seq > after_seq)
        .order_by(AuditEvent.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    async with AsyncSession(engine) as session:
        events = await session.scalars(query)
        return [_audit_record(event) for event in events]


# --- helpers --------------------------------------------------------------------------------


@asynccontextmanager
async def _transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on return, rolled back on an exception."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


async def _begin_step(session: AsyncSession, entry: AuditEntry) -> Registration | None:
    """Lock the registration, append `entry` and move an open registration to its stage. None
    when the entry was there already, i.e. the step was applied before and must not be again."""
    registration = await _lock_registration(session, entry.registration_id)
    if not await _append_audit(session, entry):
        return None
    # A closed registration's stage is its outcome; later lines (support notes) leave it.
    if registration.status == RegistrationStatus.OPEN:
        registration.stage = entry.stage.value
    return registration


async def _begin_open_step(session: AsyncSession, entry: AuditEntry) -> Registration | None:
    """`_begin_step` for a step that changes the account or the sessions: refused with
    `RegistrationClosed` (and its audit line rolled back) once the registration has ended. A
    run of a closed registration brought back (a Temporal reset, a copied start) changes
    nothing."""
    registration = await _begin_step(session, entry)
    if registration is not None and registration.status != RegistrationStatus.OPEN:
        raise RegistrationClosed(f"registration {entry.registration_id}")
    return registration


async def _lock_registration(session: AsyncSession, registration_id: str) -> Registration:
    registration = await session.get(Registration, registration_id, with_for_update=True)
    if registration is None:
        raise RegistrationNotFound(registration_id)
    return registration


async def _lock_account(session: AsyncSession, registration: Registration) -> Account:
    account = None
    if registration.account_id is not None:
        account = await session.get(Account, registration.account_id, with_for_update=True)
    if account is None:
        raise AccountNotCreated(f"registration {registration.registration_id}")
    return account


async def _append_audit(session: AsyncSession, entry: AuditEntry) -> bool:
    """Insert the audit line; False when (registration_id, seq) was there already. A concurrent
    attempt of the same step waits here until the first commits or rolls back."""
    inserted = await session.scalar(
        insert(AuditEvent)
        .values(
            registration_id=entry.registration_id,
            seq=entry.seq,
            event=entry.event,
            stage=entry.stage.value,
            actor=entry.actor,
            details=entry.details,
        )
        .on_conflict_do_nothing(index_elements=[AuditEvent.registration_id, AuditEvent.seq])
        .returning(AuditEvent.id)
    )
    return inserted is not None


async def _insert_account(
    session: AsyncSession,
    *,
    contact: Contact,
    surname: str,
    name: str,
    password_hash: str | None,
) -> uuid.UUID | None:
    """Insert a simplified account; None when the contact belongs to an account already. The
    unique indexes decide, so two registrations racing for one contact cannot both win."""
    phone = contact.address if contact.channel == Channel.SMS else None
    email = contact.address if contact.channel == Channel.EMAIL else None
    return await session.scalar(
        insert(Account)
        .values(
            level=Level.SIMPLIFIED.value,
            phone=phone,
            email=email,
            surname=surname,
            name=name,
            password_hash=password_hash,
        )
        .on_conflict_do_nothing()
        .returning(Account.id)
    )


async def _account_id_for(session: AsyncSession, contact: Contact) -> uuid.UUID | None:
    return await session.scalar(select(Account.id).where(_has_contact(contact)))


def _has_contact(contact: Contact) -> ColumnElement[bool]:
    if contact.channel == Channel.SMS:
        return Account.phone == contact.address
    # Compared as the unique index `uq_accounts_email_lower` does, so the index serves it.
    return func.lower(Account.email) == func.lower(contact.address)


def _close(registration: Registration, status: RegistrationStatus) -> None:
    if registration.status == RegistrationStatus.OPEN:
        registration.status = status.value
        registration.closed_at = func.now()


async def _revoke_sessions(session: AsyncSession, registration_id: str) -> None:
    """A registration that ended without an account to show takes no citizen step again."""
    await session.execute(
        update(RegistrationSession)
        .where(
            RegistrationSession.registration_id == registration_id,
            RegistrationSession.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )


def _registration_record(row: Registration) -> RegistrationRecord:
    return RegistrationRecord(
        registration_id=row.registration_id,
        account_id=row.account_id,
        channel=Channel(row.channel),
        contact=row.contact,
        surname=row.surname,
        name=row.name,
        status=RegistrationStatus(row.status),
        stage=Stage(row.stage),
        password_staged=row.pending_password_hash is not None,
        origin=Origin(row.origin),
        service_center_id=row.service_center_id,
        clerk_id=row.clerk_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )


def _account_record(row: Account) -> AccountRecord:
    method = row.confirmation_method
    return AccountRecord(
        id=row.id,
        level=Level(row.level),
        phone=row.phone,
        email=row.email,
        surname=row.surname,
        name=row.name,
        password_hash=row.password_hash,
        profile=row.profile,
        snils=row.snils,
        inn=row.inn,
        confirmation_method=None if method is None else ConfirmationMethod(method),
        tax_cabinet_access=row.tax_cabinet_access,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _audit_record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        registration_id=row.registration_id,
        seq=row.seq,
        event=row.event,
        stage=Stage(row.stage),
        actor=row.actor,
        details=row.details,
        recorded_at=row.recorded_at,
    )
