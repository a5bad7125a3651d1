"""Idempotency keys bound to the request they first came with.

A caller's `Idempotency-Key` names one request. The first use of a key in its scope records a
fingerprint of the request's body; a later use in the same scope with another fingerprint is a
mistake the API refuses (IETF draft "The Idempotency-Key HTTP Header Field": 422) instead of
answering it with the first request's outcome.

- `idempotency_keys`: one row per (scope, key). The scope is chosen by the caller of this module
  (`api.deps`: client, method, route and registration) and carries no personal data; the
  fingerprint is a keyed hash, never the body itself, which may hold a code or a password.
  A key whose first request was refused (not applied) is forgotten at once (`forget`), so rows
  exist only for steps that were applied; rows older than the keys' lifetime are deleted by
  `prune`.
- `step_outcomes`: the answer of each applied keyed step, per registration and step (the
  update's name and the caller's key), so that a retry is answered with it even after the
  registration continued as new (Temporal remembers an update id within one run only); and
  how many of the step's attempts were refused as "not applied, try again", which names the
  update id of its next attempt without asking Temporal. Pruned with the keys.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import delete, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from store.schema import Base


class IdempotencyKeyUse(Base):
    """The first use of `key` within `scope`: the fingerprint of the body it came with."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    fingerprint: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class KeyUse(Enum):
    FIRST = "first"  # the key is new in its scope: recorded now
    RETRY = "retry"  # the key was first used with the same body
    OTHER_BODY = "other_body"  # the key was first used with another body


async def remember(engine: AsyncEngine, scope: str, key: str, fingerprint: str) -> KeyUse:
    """Record that `key` was used in `scope` for a request with `fingerprint`, and say how it
    was used before. One statement: racing first uses agree on a single winner."""
    async with engine.begin() as connection:
        stored = (
            (
                await connection.execute(
                    insert(IdempotencyKeyUse)
                    .values(scope=scope, key=key, fingerprint=fingerprint)
                    # A no-op update, not DO NOTHING, so that RETURNING yields the stored row.
                    .on_conflict_do_update(
                        index_elements=[IdempotencyKeyUse.scope, IdempotencyKeyUse.key],
                        set_={"fingerprint": IdempotencyKeyUse.fingerprint},
                    )
                    .returning(
                        IdempotencyKeyUse.fingerprint,
                        # xmax is 0 for a row this statement inserted, not for one it updated.
                        literal_column("xmax = 0").label("inserted"),
                    )
                )
            )
            .mappings()
            .one()
        )
    if not hmac.compare_digest(stored["fingerprint"], fingerprint):
        return KeyUse.OTHER_BODY
    return KeyUse.FIRST if stored["inserted"] else KeyUse.RETRY


async def forget(engine: AsyncEngine, scope: str, key: str) -> None:
    """Forget a key whose first request was not applied: nothing is bound to it, and a bound
    key would only grow the table for requests that did nothing."""
    async with engine.begin() as connection:
        await connection.execute(
            delete(IdempotencyKeyUse).where(
                IdempotencyKeyUse.scope == scope, IdempotencyKeyUse.key == key
            )
        )


class StepOutcome(Base):
    """A keyed step: the answer it got once applied, to answer its retries with, and how many
    of its attempts were refused as "not applied, try again"."""

    __tablename__ = "step_outcomes"

    registration_id: Mapped[str] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(primary_key=True)
    outcome: Mapped[dict[str, Any] | None]
    refused_attempts: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


@dataclass(frozen=True)
class StepRecord:
    outcome: dict[str, Any] | None = None
    """The answer, once the step was applied."""
    refused_attempts: int = 0
    """Attempts refused as "not applied, try again" so far: the next attempt is this one."""


async def step_record(engine: AsyncEngine, registration_id: str, step: str) -> StepRecord:
    """What the store knows of the registration's keyed `step`: nothing for a new one."""
    async with engine.connect() as connection:
        found = (
            await connection.execute(
                select(StepOutcome.outcome, StepOutcome.refused_attempts).where(
                    StepOutcome.registration_id == registration_id, StepOutcome.step == step
                )
            )
        ).first()
    return StepRecord() if found is None else StepRecord(found.outcome, found.refused_attempts)


async def remember_outcome(
    engine: AsyncEngine, registration_id: str, step: str, answer: dict[str, Any]
) -> None:
    """Keep the answer of an applied step; the first answer stays (retries got the same)."""
    inserted = insert(StepOutcome).values(
        registration_id=registration_id, step=step, outcome=answer
    )
    async with engine.begin() as connection:
        await connection.execute(
            inserted.on_conflict_do_update(
                index_elements=[StepOutcome.registration_id, StepOutcome.step],
                set_={"outcome": inserted.excluded.outcome},
                where=StepOutcome.outcome.is_(None),
            )
        )


async def count_refusal(engine: AsyncEngine, registration_id: str, step: str, attempt: int) -> None:
    """Attempt number `attempt` (from 0) of the step was refused as "not applied, try again":
    the next one is `attempt + 1`. Racing retries of one attempt count it once."""
    inserted = insert(StepOutcome).values(
        registration_id=registration_id, step=step, refused_attempts=attempt + 1
    )
    async with engine.begin() as connection:
        await connection.execute(
            inserted.on_conflict_do_update(
                index_elements=[StepOutcome.registration_id, StepOutcome.step],
                set_={
                    "refused_attempts": func.greatest(
                        StepOutcome.refused_attempts, inserted.excluded.refused_attempts
                    )
                },
            )
        )


async def prune(engine: AsyncEngine, older_than: timedelta) -> int:
    """Forget the keys first used, and the steps applied, more than `older_than` ago (by the
    database's clock) and return how many keys; such a key is new again. Run it now and then,
    e.g. hourly."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(IdempotencyKeyUse).where(IdempotencyKeyUse.created_at < func.now() - older_than)
        )
        await connection.execute(
            delete(StepOutcome).where(StepOutcome.created_at < func.now() - older_than)
        )
    return result.rowcount
