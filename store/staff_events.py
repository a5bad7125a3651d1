"""What staff did outside any registration's own audit trail, kept in PostgreSQL: clerks'
sign-ins, refusals, lock-outs and searches at the console, and support asking to see a
registration's personal data (`gosreg explain --reveal`). Append-only (a trigger refuses
UPDATE, DELETE and TRUNCATE), like `audit_events`; no line holds personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from store.schema import Base


class StaffEvent(Base):
    """One line of what a person of staff did."""

    __tablename__ = "staff_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    event: Mapped[str]
    actor: Mapped[str | None] = mapped_column(index=True)
    """`clerk:<account id>`, `support:<client id>`; None when nobody could be named (a
    sign-in with an unknown login)."""
    service_center_id: Mapped[str | None]
    registration_id: Mapped[str | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


@dataclass(frozen=True)
class StaffEventRecord:
    recorded_at: datetime
    event: str
    actor: str | None
    service_center_id: str | None
    registration_id: str | None
    details: dict[str, Any]


async def record(
    engine: AsyncEngine,
    event: str,
    actor: str | None,
    *,
    service_center_id: str | None = None,
    registration_id: str | None = None,
    **details: Any,
) -> None:
    """Append a line; `details` must hold no personal data."""
    async with engine.begin() as connection:
        await record_in(
            connection,
            event,
            actor,
            service_center_id=service_center_id,
            registration_id=registration_id,
            **details,
        )


async def record_in(
    connection: AsyncConnection,
    event: str,
    actor: str | None,
    *,
    service_center_id: str | None = None,
    registration_id: str | None = None,
    **details: Any,
) -> None:
    """`record`, in a transaction the caller holds."""
    await connection.execute(
        insert(StaffEvent).values(
            event=event,
            actor=actor,
            service_center_id=service_center_id,
            registration_id=registration_id,
            details=details,
        )
    )


async def list_events(
    engine: AsyncEngine, *, actor: str | None = None, registration_id: str | None = None
) -> list[StaffEventRecord]:
    """The lines of one actor or about one registration, oldest first."""
    query = select(
        StaffEvent.recorded_at,
        StaffEvent.event,
        StaffEvent.actor,
        StaffEvent.service_center_id,
        StaffEvent.registration_id,
        StaffEvent.details,
    ).order_by(StaffEvent.id)
    if actor is not None:
        query = query.where(StaffEvent.actor == actor)
    if registration_id is not None:
        query = query.where(StaffEvent.registration_id == registration_id)
    async with engine.connect() as connection:
        return [StaffEventRecord(**row._asdict()) for row in await connection.execute(query)]
