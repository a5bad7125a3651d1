"""Clerks who sign in to the console in a browser: their accounts, their sessions and what they
did, kept in PostgreSQL. The rules (password, second factor, lock-out) are the service's
(`service.clerk_signin`); this module keeps the facts and makes each change in one statement,
so racing sign-ins cannot both use one code or lose a failure.

- `clerk_accounts`: one row per clerk (`gosreg clerks create`). The password is an argon2 hash;
  the TOTP secret is stored encrypted (`service.clerk_accounts`), never in clear; the last
  accepted time step makes a code good for one sign-in only. Failed sign-ins count up to a
  lock (`locked_until`); a disabled account (`disabled_at`) signs in no more and its sessions
  end at once. The name is personal data: records keep it out of repr().
- `clerk_sessions`: signed-in browsers (`store.browser_sessions`: the id's keyed hash, an
  absolute and an idle expiry). A session names its clerk as the identity provider did, so
  that a provider other than the local accounts can open sessions too; a session of a local
  account that has been disabled is refused.
- what clerks did at the console that no registration records (signing in and out,
  lock-outs, searches) goes to `staff_events` (`store.staff_events`), append-only. Never
  personal data: no login typed, no document searched for, only which kind of search and
  how many were found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from registration.callers import Principal, Role
from store import staff_events
from store.browser_sessions import SessionColumns, Sessions
from store.schema import Base


class ClerkAccount(Base):
    """A clerk's local account: who they are, where they work, and how they prove it."""

    __tablename__ = "clerk_accounts"
    __table_args__ = (CheckConstraint("login = lower(login)", name="login_lower_case"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    service_center_id: Mapped[str]
    password_hash: Mapped[str]
    totp_secret: Mapped[str]
    """Encrypted (`service.clerk_accounts.SecretBox`), bound to the account's id."""
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger)
    """The RFC 6238 time step of the last code accepted: a code of that step or an earlier
    one is refused (a code seen over a shoulder, or replayed, signs in nobody)."""
    failed_sign_ins: Mapped[int] = mapped_column(server_default=text("0"))
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ClerkSession(SessionColumns, Base):
    """One signed-in browser of one clerk."""

    __tablename__ = "clerk_sessions"

    clerk_id: Mapped[str] = mapped_column(index=True)
    clerk_name: Mapped[str]
    service_center_id: Mapped[str]


SESSIONS = Sessions(ClerkSession, prefix="gcs_")


class LoginTaken(Exception):
    """Another account has this login already."""


@dataclass(frozen=True)
class ClerkRecord:
    """A clerk account as listed for operators: no hash, no secret."""

    id: str
    login: str
    name: str = field(repr=False)
    service_center_id: str
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None
    failed_sign_ins: int


@dataclass(frozen=True)
class SignInRecord:
    """What a sign-in is judged against. `locked` and `disabled` are as of the database's
    clock now."""

    id: str
    name: str = field(repr=False)
    service_center_id: str
    password_hash: str = field(repr=False)
    totp_secret: str = field(repr=False)
    locked: bool
    disabled: bool

    def principal(self) -> Principal:
        return Principal(
            client_id=self.id,
            role=Role.CLERK,
            name=self.name,
            service_center_id=self.service_center_id,
        )


@dataclass(frozen=True)
class ClerkEventRecord:
    recorded_at: datetime
    event: str
    clerk_id: str | None
    service_center_id: str | None
    details: dict[str, Any]


# --- accounts ---------------------------------------------------------------------------------


async def create_account(
    engine: AsyncEngine,
    *,
    account_id: str,
    login: str,
    name: str,
    service_center_id: str,
    password_hash: str,
    totp_secret: str,
) -> None:
    """Create an account; `login` must be lower-case. Raises `LoginTaken`."""
    async with engine.begin() as connection:
        try:
            await connection.execute(
                insert(ClerkAccount).values(
                    id=account_id,
                    login=login,
                    name=name,
                    service_center_id=service_center_id,
                    password_hash=password_hash,
                    totp_secret=totp_secret,
                )
            )
        except IntegrityError as error:
            if "uq_clerk_accounts_login" in str(error.orig):
                raise LoginTaken(login) from None
            raise
        await _record(connection, "account_created", account_id, service_center_id)


async def list_accounts(engine: AsyncEngine) -> list[ClerkRecord]:
    """Every account, disabled ones included, oldest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                ClerkAccount.id,
                ClerkAccount.login,
                ClerkAccount.name,
                ClerkAccount.service_center_id,
                ClerkAccount.created_at,
                ClerkAccount.disabled_at,
                ClerkAccount.locked_until,
                ClerkAccount.failed_sign_ins,
            ).order_by(ClerkAccount.created_at, ClerkAccount.id)
        )
        return [ClerkRecord(**row._asdict()) for row in rows]


async def disable_account(engine: AsyncEngine, login: str) -> str | None:
    """Disable the account with this login and end its sessions, at once; its id, or None
    when no enabled account has this login."""
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                update(ClerkAccount)
                .where(ClerkAccount.login == login, ClerkAccount.disabled_at.is_(None))
                .values(disabled_at=func.now())
                .returning(ClerkAccount.id, ClerkAccount.service_center_id)
            )
        ).one_or_none()
        if row is None:
            return None
        await connection.execute(delete(ClerkSession).where(ClerkSession.clerk_id == row.id))
        await _record(connection, "account_disabled", row.id, row.service_center_id)
    account_id: str = row.id
    return account_id


# --- signing in -------------------------------------------------------------------------------


async def find_for_sign_in(engine: AsyncEngine, login: str) -> SignInRecord | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    ClerkAccount.id,
                    ClerkAccount.name,
                    ClerkAccount.service_center_id,
                    ClerkAccount.password_hash,
                    ClerkAccount.totp_secret,
                    _locked().label("locked"),
                    ClerkAccount.disabled_at.is_not(None).label("disabled"),
                ).where(ClerkAccount.login == login)
            )
        ).one_or_none()
    return None if row is None else SignInRecord(**row._asdict())


async def accept_sign_in(engine: AsyncEngine, account_id: str, step: int) -> bool:
    """Take the code of time step `step` for a sign-in with the right password: True when it
    is later than every code taken before and the account is neither locked nor disabled
    (then its failures are forgiven). One statement, so of two sign-ins racing with one code
    only one is taken."""
    async with engine.begin() as connection:
        accepted = await connection.scalar(
            update(ClerkAccount)
            .where(
                ClerkAccount.id == account_id,
                or_(ClerkAccount.last_totp_step.is_(None), ClerkAccount.last_totp_step < step),
                ClerkAccount.disabled_at.is_(None),
                ~_locked(),
            )
            .values(last_totp_step=step, failed_sign_ins=0, locked_until=None)
            .returning(ClerkAccount.id)
        )
    return accepted is not None


async def count_failed_sign_in(
    engine: AsyncEngine, account_id: str, *, limit: int, lock_for: timedelta
) -> datetime | None:
    """Count a failed sign-in of an account that is not locked; at the `limit`-th failure in a
    row the account is locked for `lock_for` (and the count starts again). Returns the end of
    the lock this failure started, else None. Failures while locked are not counted: they
    cannot extend the lock."""
    reached = ClerkAccount.failed_sign_ins + 1 >= limit
    async with engine.begin() as connection:
        locked_until: datetime | None = await connection.scalar(
            update(ClerkAccount)
            .where(ClerkAccount.id == account_id, ~_locked())
            .values(
                failed_sign_ins=case((reached, 0), else_=ClerkAccount.failed_sign_ins + 1),
                locked_until=case((reached, func.now() + lock_for), else_=None),
            )
            .returning(ClerkAccount.locked_until)
        )
    return locked_until


def _locked() -> ColumnElement[bool]:
    return func.coalesce(ClerkAccount.locked_until > func.now(), False)


# --- sessions ---------------------------------------------------------------------------------


async def open_session(
    engine: AsyncEngine,
    pepper: bytes,
    principal: Principal,
    *,
    lifetime: timedelta,
    idle_timeout: timedelta,
    replacing: str | None = None,
) -> str:
    """Open a console session for the clerk `principal` (a clerk of a service center); the
    session id, for the browser only."""
    if principal.role is not Role.CLERK or principal.service_center_id is None:
        raise ValueError("only a clerk of a service center signs in to the console")
    return await SESSIONS.open(
        engine,
        pepper,
        {
            "clerk_id": principal.client_id,
            "clerk_name": principal.name,
            "service_center_id": principal.service_center_id,
        },
        lifetime=lifetime,
        idle_timeout=idle_timeout,
        replacing=replacing,
    )


async def session_principal(
    engine: AsyncEngine, pepper: bytes, session_id: str
) -> Principal | None:
    """The clerk signed in with `session_id`, noting the use; None when the session is over,
    unknown, or its local account has been disabled."""
    disabled = exists().where(
        ClerkAccount.id == ClerkSession.clerk_id, ClerkAccount.disabled_at.is_not(None)
    )
    row = await SESSIONS.use(
        engine,
        pepper,
        session_id,
        ~disabled,
        returning=(ClerkSession.clerk_id, ClerkSession.clerk_name, ClerkSession.service_center_id),
    )
    if row is None:
        return None
    return Principal(
        client_id=row.clerk_id,
        role=Role.CLERK,
        name=row.clerk_name,
        service_center_id=row.service_center_id,
    )


async def close_session(engine: AsyncEngine, pepper: bytes, session_id: str) -> str | None:
    """End the session (sign-out); the clerk id it belonged to, or None."""
    return await SESSIONS.close(engine, pepper, session_id, ClerkSession.clerk_id)


# --- what clerks did --------------------------------------------------------------------------


async def record_event(
    engine: AsyncEngine,
    event: str,
    clerk_id: str | None,
    service_center_id: str | None,
    **details: Any,
) -> None:
    """Append a line about a clerk to `staff_events`; `details` must hold no personal data."""
    async with engine.begin() as connection:
        await _record(connection, event, clerk_id, service_center_id, **details)


async def list_events(engine: AsyncEngine, clerk_id: str) -> list[ClerkEventRecord]:
    """The clerk's lines, oldest first."""
    return [
        ClerkEventRecord(
            recorded_at=line.recorded_at,
            event=line.event,
            clerk_id=clerk_id,
            service_center_id=line.service_center_id,
            details=line.details,
        )
        for line in await staff_events.list_events(engine, actor=clerk_actor(clerk_id))
    ]


def clerk_actor(clerk_id: str) -> str:
    return f"{Role.CLERK.value}:{clerk_id}"


async def _record(
    connection: AsyncConnection,
    event: str,
    clerk_id: str | None,
    center: str | None,
    **details: Any,
) -> None:
    actor = clerk_actor(clerk_id) if clerk_id is not None else None
    await staff_events.record_in(connection, event, actor, service_center_id=center, **details)
