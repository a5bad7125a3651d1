"""Activities that write the account store: one per audited step of the journey.

Each step is idempotent (its audit seq is its idempotency key, see `store.repository`), so
Temporal may retry any of them freely; the journey's metrics count a step when the store
applies it, so once (`metrics.journey`). Definitive answers are non-retryable
`ApplicationError`s typed from `registration.errors`; database faults stay retryable.
Nothing here logs or raises personal data: ids and audit seqs only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from metrics import journey
from registration.activity_messages import (
    ActivatePassword,
    AuditBatch,
    AuditEntry,
    BindSession,
    CloseRegistration,
    ConfirmIdentity,
    OpenCounterAccount,
    OpenRegistration,
    SaveVerifiedProfile,
)
from registration.errors import (
    CONTACT_ALREADY_REGISTERED,
    PASSWORD_NOT_STAGED,
    REGISTRATION_CLOSED,
)
from store import repository
from store.repository import (
    ContactAlreadyRegistered,
    PasswordNotStaged,
    RegistrationClosed,
    StoreError,
)

_Step = TypeVar("_Step")

ANSWERS: dict[type[StoreError], str] = {
    ContactAlreadyRegistered: CONTACT_ALREADY_REGISTERED,
    PasswordNotStaged: PASSWORD_NOT_STAGED,
    RegistrationClosed: REGISTRATION_CLOSED,
}
"""Store refusals that are answers, not faults: asking again cannot change them. Other
refusals (an unknown registration, a missing account) mean the workflow called steps out of
order; they stay retryable so the registration waits, visibly, for support to look."""


class StoreActivities:
    """The store's activities, bound to one engine. Construct once per worker with
    `store.db.make_engine(url)` and register `activities()`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name="open_registration")
    async def open_registration(self, step: OpenRegistration) -> AuditEntry:
        """Fails with `ContactAlreadyRegistered` (non-retryable); then no row was written."""
        return await self._apply(repository.open_registration, step, step.audit)

    @activity.defn(name="record_audit")
    async def record_audit(self, entry: AuditEntry) -> AuditEntry:
        return await self._apply(repository.record_audit, entry, entry)

    @activity.defn(name="record_audits")
    async def record_audits(self, batch: AuditBatch) -> AuditBatch:
        """`record_audit` for a batch of lines, in one transaction."""
        try:
            recorded = await repository.record_audits(self._engine, batch.entries)
        except SQLAlchemyError as error:
            raise _database_fault(error) from None
        for entry in recorded:
            journey.observe_step(entry)
        if len(recorded) < len(batch.entries):
            activity.logger.info(
                "%d of %d audit lines recorded before",
                len(batch.entries) - len(recorded),
                len(batch.entries),
            )
        return batch

    @activity.defn(name="activate_password")
    async def activate_password(self, step: ActivatePassword) -> AuditEntry:
        """Fails with `PasswordNotStaged` or `ContactAlreadyRegistered` (non-retryable)."""
        return await self._apply(repository.activate_password, step, step.audit)

    @activity.defn(name="open_counter_account")
    async def open_counter_account(self, step: OpenCounterAccount) -> AuditEntry:
        """Fails with `ContactAlreadyRegistered` (non-retryable)."""
        return await self._apply(repository.open_counter_account, step, step.audit)

    @activity.defn(name="bind_session")
    async def bind_session(self, step: BindSession) -> AuditEntry:
        return await self._apply(repository.bind_session, step, step.audit)

    @activity.defn(name="save_verified_profile")
    async def save_verified_profile(self, step: SaveVerifiedProfile) -> AuditEntry:
        return await self._apply(repository.save_verified_profile, step, step.audit)

    @activity.defn(name="confirm_identity")
    async def confirm_identity(self, step: ConfirmIdentity) -> AuditEntry:
        return await self._apply(repository.confirm_identity, step, step.audit)

    @activity.defn(name="close_registration")
    async def close_registration(self, step: CloseRegistration) -> AuditEntry:
        if await self._applied(repository.close_registration, step, step.audit):
            journey.registration_ended(step.outcome)
        return step.audit

    async def _apply(
        self,
        write: Callable[[AsyncEngine, _Step], Awaitable[bool]],
        step: _Step,
        audit: AuditEntry,
    ) -> AuditEntry:
        """Write `step`; its audit line, as the activity's result: a local activity's
        input is not in history, its result is, and support's story reads it there
        (`service.explain`)."""
        await self._applied(write, step, audit)
        return audit

    async def _applied(
        self,
        write: Callable[[AsyncEngine, _Step], Awaitable[bool]],
        step: _Step,
        audit: AuditEntry,
    ) -> bool:
        """Write `step`; whether it was applied now (False: applied before)."""
        try:
            applied = await write(self._engine, step)
        except StoreError as error:
            answer = ANSWERS.get(type(error))
            if answer is None:
                raise
            raise ApplicationError(str(error), type=answer, non_retryable=True) from None
        except SQLAlchemyError as error:
            raise _database_fault(error) from None
        if not applied:
            activity.logger.info("step already applied (audit seq %d)", audit.seq)
            return False
        journey.observe_step(audit)
        return True


def _database_fault(error: SQLAlchemyError) -> ApplicationError:
    """A retryable failure naming the fault without its text: PostgreSQL's own messages may
    quote row values (a unique violation names the key), and a failure's message and cause
    are kept in the workflow's history."""
    driver_error: Any = getattr(error, "orig", None) or error
    sqlstate = getattr(driver_error, "sqlstate", None) or "none"
    kind = type(driver_error).__name__
    return ApplicationError(f"database error {kind} (SQLSTATE {sqlstate})", type=kind)
