"""Budgets for sending codes, counted per contact across all its registrations.

A registration's own limits (`registration.policy`) live in its workflow and start from zero
with every new registration, so cancelling and starting again would reset them. These budgets
live here instead: one row per code sent, named by the contact's keyed digest
(`registration.codes.contact_key`) and its number range (`range_key`), never by the number or
address itself. Every worker shares them and they survive restarts; times are the database's.

`claim_send` is asked before every code goes out and records the send it allows; the API asks
`next_send_at` (read-only) before it starts anything. `prune_sends` drops rows no budget counts
any more; run it now and then, e.g. hourly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Index, delete, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from settings import Settings
from store.schema import Base

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

RETENTION = DAY + HOUR
"""Rows older than this are counted by no budget (the longest window is a day)."""


class ContactSend(Base):
    """One code sent: code number `sequence` of registration `registration_id` went to the
    contact `contact_key` (in number range `range_key`, phones only) at `sent_at`."""

    __tablename__ = "contact_sends"
    __table_args__ = (
        Index("ix_contact_sends_contact_key_sent_at", "contact_key", "sent_at"),
        Index("ix_contact_sends_range_key_sent_at", "range_key", "sent_at"),
        Index("ix_contact_sends_sent_at", "sent_at"),
    )

    # The send's identity: a retried activity claims the same row, never a second one.
    registration_id: Mapped[str] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True)
    contact_key: Mapped[str]
    range_key: Mapped[str | None]
    sent_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SendLimit(StrEnum):
    """Which budget refused a send."""

    CONTACT_COOLDOWN = "contact_cooldown"
    CONTACT_PER_HOUR = "contact_per_hour"
    CONTACT_PER_DAY = "contact_per_day"
    RANGE_PER_HOUR = "range_per_hour"
    TOTAL_PER_HOUR = "total_per_hour"


@dataclass(frozen=True)
class SendLimits:
    """The budgets, across registrations: at most one code per `contact_cooldown` and
    `contact_per_hour` / `contact_per_day` codes per contact, `range_per_hour` per number
    range, `total_per_hour` over all contacts."""

    contact_cooldown: timedelta
    contact_per_hour: int
    contact_per_day: int
    range_per_hour: int
    total_per_hour: int

    def __post_init__(self) -> None:
        if self.contact_cooldown < timedelta(0):
            raise ValueError("the cooldown between codes cannot be negative")
        counts = (self.contact_per_hour, self.contact_per_day, self.range_per_hour)
        if min(*counts, self.total_per_hour) < 1:
            raise ValueError("a code budget allows at least one code")

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        return cls(
            contact_cooldown=timedelta(seconds=settings.contact_code_cooldown_seconds),
            contact_per_hour=settings.contact_codes_per_hour,
            contact_per_day=settings.contact_codes_per_day,
            range_per_hour=settings.range_codes_per_hour,
            total_per_hour=settings.codes_per_hour_total,
        )


@dataclass(frozen=True)
class SendDecision:
    """The verdict on one send. When refused, `limit` is the budget that holds it back
    longest and `retry_at` the moment every budget allows it again (if nothing else is sent
    meanwhile)."""

    allowed: bool
    limit: SendLimit | None = None
    retry_at: datetime | None = None


ALLOWED = SendDecision(allowed=True)


async def claim_send(
    engine: AsyncEngine,
    registration_id: str,
    sequence: int,
    contact_key: str,
    range_key: str | None,
    limits: SendLimits,
) -> SendDecision:
    """Record that code `sequence` of `registration_id` goes to the contact now, if every
    budget allows it. The same (registration, sequence) claimed again is allowed without
    counting twice (a retried activity). Claims for one contact (and one number range) are
    serialised, so concurrent claims never overspend its budgets; a refused claim records
    nothing."""
    async with engine.begin() as connection:
        # Range first, then contact: every claim takes its locks in the same order.
        for key in (range_key, contact_key):
            if key is not None:
                await connection.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))
        recorded = await connection.scalar(
            select(literal(1)).where(
                ContactSend.registration_id == registration_id,
                ContactSend.sequence == sequence,
            )
        )
        if recorded is not None:
            return ALLOWED
        decision = await _judge(connection, contact_key, range_key, limits)
        if decision.allowed:
            await connection.execute(
                insert(ContactSend)
                .values(
                    registration_id=registration_id,
                    sequence=sequence,
                    contact_key=contact_key,
                    range_key=range_key,
                )
                .on_conflict_do_nothing()
            )
    return decision


async def next_send_at(
    engine: AsyncEngine, contact_key: str, range_key: str | None, limits: SendLimits
) -> datetime | None:
    """When the next code to this contact would be allowed; None when it would be now.
    Reads only, so a concurrent claim may still take the budget first."""
    async with engine.connect() as connection:
        return (await _judge(connection, contact_key, range_key, limits)).retry_at


async def prune_sends(engine: AsyncEngine) -> int:
    """Delete the sends older than `RETENTION`, which no budget counts, and return how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(ContactSend).where(ContactSend.sent_at < func.now() - RETENTION)
        )
    return result.rowcount


async def _judge(
    connection: AsyncConnection, contact_key: str, range_key: str | None, limits: SendLimits
) -> SendDecision:
    # Each budget is "at most `count` sends within `window`": it holds a send back until the
    # count-th newest send in its window leaves the window. The cooldown is one per cooldown.
    contact = ContactSend.contact_key == contact_key
    budgets: list[tuple[SendLimit, ColumnElement[bool], int, timedelta]] = [
        (SendLimit.CONTACT_COOLDOWN, contact, 1, limits.contact_cooldown),
        (SendLimit.CONTACT_PER_HOUR, contact, limits.contact_per_hour, HOUR),
        (SendLimit.CONTACT_PER_DAY, contact, limits.contact_per_day, DAY),
        (SendLimit.TOTAL_PER_HOUR, true(), limits.total_per_hour, HOUR),
    ]
    if range_key is not None:
        budgets.append(
            (
                SendLimit.RANGE_PER_HOUR,
                ContactSend.range_key == range_key,
                limits.range_per_hour,
                HOUR,
            )
        )
    now = func.now()
    row = (
        await connection.execute(
            select(
                *(
                    select(ContactSend.sent_at)
                    .where(scope, ContactSend.sent_at > now - window)
                    .order_by(ContactSend.sent_at.desc())
                    .offset(count - 1)
                    .limit(1)
                    .scalar_subquery()
                    .label(limit)
                    for limit, scope, count, window in budgets
                )
            )
        )
    ).one()
    held = [
        (getattr(row, limit) + window, limit)
        for limit, _, _, window in budgets
        if getattr(row, limit) is not None
    ]
    if not held:
        return ALLOWED
    retry_at, limit = max(held)
    return SendDecision(allowed=False, limit=limit, retry_at=retry_at)


def _lock_id(key: str) -> int:
    """The id (signed 64 bits) of the transaction-level advisory lock that guards `key`."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"contact_sends").digest()
    return int.from_bytes(digest, "big", signed=True)
