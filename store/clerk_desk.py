"""What a clerk's desk reads from the account store: people found by passport, the
registrations a clerk may see, and a service center's day (its confirmations and the people it
registered from scratch). Reads only; the writes of a confirmation or a registration are the
workflow's (its audit lines name the clerk and the center).

A clerk may see a registration that awaits identity confirmation (open, its account verified:
`standard`, as `repository.awaiting_identity_confirmation` finds them) or one their center
has acted on (an audit line names the center).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.contact import Channel
from registration.journey import Level, Origin, Stage
from store.schema import Account, AuditEvent, Registration, RegistrationStatus

FOUND_AT_MOST = 20
DAY_AT_MOST = 500


@dataclass(frozen=True)
class DeskRecord:
    """A registration as a clerk's desk reads it; `profile` is the verified profile (None
    before verification)."""

    registration_id: str
    status: RegistrationStatus
    stage: Stage
    level: Level
    channel: Channel
    contact: str = field(repr=False)
    profile: dict[str, Any] | None = field(repr=False)
    created_at: datetime
    awaiting: bool
    """Open with a verified account: a clerk may confirm it."""


@dataclass(frozen=True)
class DeskLine:
    """An audit line of a service center's day, with the name of the person it concerns."""

    registration_id: str
    event: str
    actor: str
    details: dict[str, Any] = field(repr=False)
    recorded_at: datetime
    surname: str = field(repr=False)
    name: str = field(repr=False)
    patronymic: str | None = field(repr=False)
    origin: Origin
    """Where the registration began (a confirmation of one made at a counter is part of it)."""


@dataclass(frozen=True)
class CounterLine:
    """A registration a service center made from scratch, for the center's day."""

    registration_id: str
    status: RegistrationStatus
    stage: Stage
    clerk_id: str | None
    created_at: datetime
    surname: str = field(repr=False)
    name: str = field(repr=False)
    patronymic: str | None = field(repr=False)


def _awaiting() -> ColumnElement[bool]:
    return and_(
        Registration.status == RegistrationStatus.OPEN.value,
        Account.level == Level.STANDARD.value,
    )


def _by_center(center: str) -> ColumnElement[bool]:
    """Audit lines naming the service center (served by `ix_audit_events_service_center`)."""
    named: ColumnElement[bool] = AuditEvent.details["service_center_id"].astext == center
    return named


async def awaiting_by_passport(engine: AsyncEngine, series: str, number: str) -> list[str]:
    """Registrations awaiting identity confirmation of the person with this passport
    (series of 4 digits, number of 6), newest first."""
    async with engine.connect() as connection:
        found = await connection.scalars(
            select(Registration.registration_id)
            .join(Account, Account.id == Registration.account_id)
            .where(
                _awaiting(),
                Account.profile["passport_series"].astext == series,
                Account.profile["passport_number"].astext == number,
            )
            .order_by(Registration.created_at.desc())
            .limit(FOUND_AT_MOST)
        )
        return list(found)


async def desk_records(engine: AsyncEngine, registration_ids: Collection[str]) -> list[DeskRecord]:
    """The registrations of `registration_ids` that exist and have an account, in that order."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                Registration.registration_id,
                Registration.status,
                Registration.stage,
                Account.level,
                Registration.channel,
                Registration.contact,
                Account.profile,
                Registration.created_at,
                _awaiting().label("awaiting"),
            )
            .join(Account, Account.id == Registration.account_id)
            .where(Registration.registration_id.in_(list(registration_ids)))
        )
        found = {
            row.registration_id: DeskRecord(
                registration_id=row.registration_id,
                status=RegistrationStatus(row.status),
                stage=Stage(row.stage),
                level=Level(row.level),
                channel=Channel(row.channel),
                contact=row.contact,
                profile=row.profile,
                created_at=row.created_at,
                awaiting=row.awaiting,
            )
            for row in rows
        }
    return [found[rid] for rid in registration_ids if rid in found]


async def handled_by_center(engine: AsyncEngine, registration_id: str, center: str) -> bool:
    """Whether an audit line of the registration names the service center."""
    async with engine.connect() as connection:
        handled: bool | None = await connection.scalar(
            select(
                exists().where(AuditEvent.registration_id == registration_id, _by_center(center))
            )
        )
    return bool(handled)


async def center_lines(
    engine: AsyncEngine, center: str, since: datetime, events: Collection[str]
) -> list[DeskLine]:
    """The audit lines of `events` naming the service center since `since`, newest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                AuditEvent.registration_id,
                AuditEvent.event,
                AuditEvent.actor,
                AuditEvent.details,
                AuditEvent.recorded_at,
                Account.surname,
                Account.name,
                Account.profile["patronymic"].astext.label("patronymic"),
                Registration.origin,
            )
            .join(Registration, Registration.registration_id == AuditEvent.registration_id)
            .join(Account, Account.id == Registration.account_id)
            .where(
                _by_center(center),
                AuditEvent.recorded_at >= since,
                AuditEvent.event.in_(list(events)),
            )
            .order_by(AuditEvent.recorded_at.desc(), AuditEvent.id.desc())
            .limit(DAY_AT_MOST)
        )
        return [DeskLine(**{**row._asdict(), "origin": Origin(row.origin)}) for row in rows]


async def center_registrations(
    engine: AsyncEngine, center: str, since: datetime
) -> list[CounterLine]:
    """The registrations the service center started at its counter since `since`, newest
    first (served by `ix_registrations_service_center_created`)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                Registration.registration_id,
                Registration.status,
                Registration.stage,
                Registration.clerk_id,
                Registration.created_at,
                Registration.surname,
                Registration.name,
                Account.profile["patronymic"].astext.label("patronymic"),
            )
            .outerjoin(Account, Account.id == Registration.account_id)
            .where(
                Registration.service_center_id == center,
                Registration.origin == Origin.SERVICE_CENTER.value,
                Registration.created_at >= since,
            )
            .order_by(Registration.created_at.desc(), Registration.registration_id)
            .limit(DAY_AT_MOST)
        )
        return [
            CounterLine(
                **{
                    **row._asdict(),
                    "status": RegistrationStatus(row.status),
                    "stage": Stage(row.stage),
                }
            )
            for row in rows
        ]
