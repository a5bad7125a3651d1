"""Access to the API: its clients (token holders) and the rate-limit counters.

Both live in PostgreSQL rather than in process memory, so any number of API instances agree
on who is allowed and how many attempts are left. Each function is one short transaction.

- `api_clients`: one row per token. Only the token's keyed hash is kept (`registration.callers`); a
  revoked client keeps its row, so audit lines naming it still resolve. A person's token
  (`STAFF_ROLES`) expires (`expires_at`, see `token_lifetime`); any token can be rotated:
  a new token for the same client, the old one refused at once.
- `rate_limits`: fixed-window counters, one row per (key, window). Windows are cut by the
  database's clock, never by an API instance's. Keys are chosen by the caller and must not
  carry personal data (use registration and client ids).
"""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Row,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from registration.callers import Principal, Role, looks_like_token, new_token, token_hash
from settings import Settings
from store.schema import Base, _one_of

CLIENT_ID_PREFIX = "cl_"
_CLIENT_ID_ALPHABET = string.ascii_lowercase + string.digits
_CLIENT_ID_LENGTH = 12

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is rewritten at most this often, so authenticating is a read nearly always."""

STAFF_ROLES = frozenset({Role.CLERK, Role.SUPPORT})
"""Roles held by a person rather than a system: their tokens expire (`token_lifetime`)."""

MAX_RATE_WINDOW = timedelta(days=1)
"""The longest window `hit_rate_limit` accepts; a window that started longer ago is over."""

# Windows are aligned on this instant, so every instance (and every key) cuts them alike.
_WINDOW_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


# --- tables -----------------------------------------------------------------------------------


class ApiClient(Base):
    """A holder of one API token: a system (portal, bank, e-signature) or a person (a clerk
    of one service center, a support engineer)."""

    __tablename__ = "api_clients"
    __table_args__ = (
        CheckConstraint(_one_of("role", Role), name="role"),
        CheckConstraint(
            "(role = 'clerk') = (service_center_id IS NOT NULL)", name="service_center"
        ),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    role: Mapped[str]
    name: Mapped[str]
    service_center_id: Mapped[str | None]
    token_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # NULL: the token never expires. Set from the database's clock, as the check is.
    expires_at: Mapped[datetime | None]


class RateLimit(Base):
    """How many hits `key` took in the fixed window starting at `window_start`."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    count: Mapped[int]


# --- what callers get back ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRecord:
    """An API client as listed for operators; the token's hash is not part of it."""

    id: str
    role: Role
    name: str = field(repr=False)
    service_center_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class RateDecision:
    """The verdict on one hit. `retry_after_seconds` (at least 1) is when the current window
    ends, whether or not this hit was allowed; `remaining` is how many more it allows."""

    allowed: bool
    remaining: int
    retry_after_seconds: int


# --- clients ----------------------------------------------------------------------------------


def token_lifetime(settings: Settings, role: Role) -> timedelta | None:
    """How long a new or rotated token of `role` lives: `staff_token_lifetime_hours` for a
    person's role, `machine_token_lifetime_days` (None: forever) for a system's. A setting
    that is not positive raises ValueError."""
    if Role(role) in STAFF_ROLES:
        lifetime: timedelta | None = timedelta(hours=settings.staff_token_lifetime_hours)
    elif settings.machine_token_lifetime_days is None:
        return None
    else:
        lifetime = timedelta(days=settings.machine_token_lifetime_days)
    _check_lifetime(lifetime)
    return lifetime


async def create_client(
    engine: AsyncEngine,
    pepper: bytes,
    role: Role,
    name: str,
    service_center_id: str | None = None,
    lifetime: timedelta | None = None,
) -> tuple[Principal, str]:
    """Create a client and its token; returns the principal and the raw token, which is not
    kept anywhere and must be handed over now. The token expires `lifetime` from now, or
    never when it is None (operators get it from `token_lifetime`). A clerk needs
    `service_center_id`, any other role must not have one; a blank name, that mistake or a
    lifetime that is not positive raises ValueError."""
    role = Role(role)
    _check_lifetime(lifetime)
    if not name.strip():
        raise ValueError("a client needs a name")
    if role == Role.CLERK and not (service_center_id or "").strip():
        raise ValueError("a clerk needs a service center")
    if role != Role.CLERK and service_center_id is not None:
        raise ValueError(f"a {role} client has no service center")
    principal = Principal(
        client_id=_new_client_id(),
        role=role,
        name=name.strip(),
        service_center_id=service_center_id,
    )
    token = new_token()
    async with engine.begin() as connection:
        await connection.execute(
            insert(ApiClient).values(
                id=principal.client_id,
                role=principal.role.value,
                name=principal.name,
                service_center_id=principal.service_center_id,
                token_hash=token_hash(pepper, token),
                expires_at=_expiry(lifetime),
            )
        )
    return principal, token


async def rotate_client(
    engine: AsyncEngine, pepper: bytes, client_id: str, settings: Settings
) -> tuple[Principal, str] | None:
    """Give an active client a new token and return it with the principal; the old token is
    refused from this commit on. The new token lives `token_lifetime(settings, role)`. Works
    on an expired token too (that is how a person's token is renewed). None when no active
    client has this id; a lifetime setting that is not positive raises ValueError."""
    token = new_token()
    async with engine.begin() as connection:
        role = await connection.scalar(
            select(ApiClient.role)
            .where(ApiClient.id == client_id, ApiClient.revoked_at.is_(None))
            .with_for_update()
        )
        if role is None:
            return None
        row = (
            await connection.execute(
                update(ApiClient)
                .where(ApiClient.id == client_id)
                .values(
                    token_hash=token_hash(pepper, token),
                    expires_at=_expiry(token_lifetime(settings, Role(role))),
                )
                .returning(
                    ApiClient.id, ApiClient.role, ApiClient.name, ApiClient.service_center_id
                )
            )
        ).one()
        await announce_change(connection, client_id)
    return as_principal(row), token


TOKEN_CHANGES = "gosreg_token_changes"
"""The PostgreSQL NOTIFY channel on which a revoked or rotated client's id is announced (at
commit): every API instance drops what it remembers of that client's token at once."""


@dataclass(frozen=True)
class Verdict:
    principal: Principal
    expires_at: datetime | None
    """When the token stops being accepted by itself; None for a token without expiry."""


async def authenticate(engine: AsyncEngine, pepper: bytes, token: str) -> Principal | None:
    """The principal holding `token`, or None when the token is malformed, unknown, revoked
    or expired (all alike, so a caller learns nothing from the difference)."""
    verdict = await token_verdict(engine, pepper, token)
    return None if verdict is None else verdict.principal


async def token_verdict(engine: AsyncEngine, pepper: bytes, token: str) -> Verdict | None:
    """`authenticate`, with the token's expiry. One indexed query; notes the use in
    `last_used_at` when the last note is older than `LAST_USED_RESOLUTION`."""
    if not looks_like_token(token):
        return None
    stale = or_(
        ApiClient.last_used_at.is_(None),
        ApiClient.last_used_at < func.now() - LAST_USED_RESOLUTION,
    )
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                select(
                    ApiClient.id,
                    ApiClient.role,
                    ApiClient.name,
                    ApiClient.service_center_id,
                    ApiClient.expires_at,
                    stale.label("stale"),
                ).where(ApiClient.token_hash == token_hash(pepper, token), usable_client())
            )
        ).one_or_none()
        if row is None:
            return None
        if row.stale:
            # The condition is repeated so that concurrent requests write it only once.
            await connection.execute(
                update(ApiClient)
                .where(ApiClient.id == row.id, stale)
                .values(last_used_at=func.now())
            )
    return Verdict(as_principal(row), row.expires_at)


def usable_client() -> ColumnElement[bool]:
    """The condition on `api_clients` under which its token is accepted now: not revoked,
    not expired. Whatever else authenticates as a client (a codec session) checks it too."""
    return and_(
        ApiClient.revoked_at.is_(None),
        or_(ApiClient.expires_at.is_(None), ApiClient.expires_at > func.now()),
    )


def as_principal(row: Row[*tuple[Any, ...]]) -> Principal:
    """The principal of a row with `api_clients`' id, role, name and service_center_id."""
    return Principal(
        client_id=row.id,
        role=Role(row.role),
        name=row.name,
        service_center_id=row.service_center_id,
    )


async def revoke_client(engine: AsyncEngine, client_id: str) -> bool:
    """Revoke the client's token from now on. False when no active client has this id."""
    async with engine.begin() as connection:
        revoked = await connection.scalar(
            update(ApiClient)
            .where(ApiClient.id == client_id, ApiClient.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(ApiClient.id)
        )
        if revoked is not None:
            await announce_change(connection, client_id)
    return revoked is not None


async def announce_change(connection: AsyncConnection, client_id: str) -> None:
    """NOTIFY `TOKEN_CHANGES` with the client's id, delivered when the transaction commits.
    Whatever changes whether a client's token is accepted announces it, or API instances keep
    accepting it for up to `Settings.token_cache_seconds` (an expiry moved by hand, too)."""
    await connection.execute(select(func.pg_notify(TOKEN_CHANGES, client_id)))


async def list_clients(engine: AsyncEngine) -> list[ClientRecord]:
    """Every client, revoked ones included, oldest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                ApiClient.id,
                ApiClient.role,
                ApiClient.name,
                ApiClient.service_center_id,
                ApiClient.created_at,
                ApiClient.revoked_at,
                ApiClient.last_used_at,
                ApiClient.expires_at,
            ).order_by(ApiClient.created_at, ApiClient.id)
        )
        return [
            ClientRecord(
                id=row.id,
                role=Role(row.role),
                name=row.name,
                service_center_id=row.service_center_id,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
                last_used_at=row.last_used_at,
                expires_at=row.expires_at,
            )
            for row in rows
        ]


def _check_lifetime(lifetime: timedelta | None) -> None:
    if lifetime is not None and lifetime <= timedelta(0):
        raise ValueError(f"a token's lifetime must be positive, not {lifetime}")


def _expiry(lifetime: timedelta | None) -> ColumnElement[datetime] | None:
    return None if lifetime is None else func.now() + lifetime


def _new_client_id() -> str:
    return CLIENT_ID_PREFIX + "".join(
        secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(_CLIENT_ID_LENGTH)
    )


# --- rate limits --------------------------------------------------------------------------------


async def hit_rate_limit(
    engine: AsyncEngine, key: str, limit: int, window: timedelta
) -> RateDecision:
    """Count one hit on `key` in the current fixed window of length `window` and say whether
    it is within `limit`. Refused hits count too. Windows are aligned on the database's clock;
    `window` may be at most `MAX_RATE_WINDOW`, and one key should always be used with the
    same window. Concurrent hits are serialised by the row, so at most `limit` are allowed."""
    if limit < 1:
        raise ValueError("a rate limit allows at least one hit")
    if not timedelta(0) < window <= MAX_RATE_WINDOW:
        raise ValueError(f"a rate-limit window is longer than 0 and at most {MAX_RATE_WINDOW}")
    async with engine.begin() as connection:
        counted = (
            await connection.execute(
                insert(RateLimit)
                .values(
                    key=key,
                    window_start=func.date_bin(window, func.now(), _WINDOW_ORIGIN),
                    count=1,
                )
                .on_conflict_do_update(
                    index_elements=[RateLimit.key, RateLimit.window_start],
                    set_={"count": RateLimit.count + 1},
                )
                .returning(
                    RateLimit.count.label("hits"), RateLimit.window_start, func.now().label("now")
                )
            )
        ).one()
        if counted.hits == 1:
            # The key opened a new window: a cheap moment to drop its windows long over.
            await connection.execute(
                delete(RateLimit).where(RateLimit.key == key, _window_is_over())
            )
    seconds_left = (counted.window_start + window - counted.now).total_seconds()
    return RateDecision(
        allowed=counted.hits <= limit,
        remaining=max(0, limit - counted.hits),
        retry_after_seconds=max(1, math.ceil(seconds_left)),
    )


async def prune_rate_limits(engine: AsyncEngine) -> int:
    """Delete every window that started more than `MAX_RATE_WINDOW` ago (all of them over)
    and return how many. `hit_rate_limit` tidies keys that are hit again; this is for keys
    that never are (finished registrations), so run it now and then, e.g. hourly."""
    async with engine.begin() as connection:
        result = await connection.execute(delete(RateLimit).where(_window_is_over()))
    return result.rowcount


def _window_is_over() -> ColumnElement[bool]:
    # True of no current window whatever its length, since none is longer than the maximum.
    return RateLimit.window_start < func.now() - MAX_RATE_WINDOW
