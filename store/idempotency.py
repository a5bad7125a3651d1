"""Idempotency keys bound to the request they first came with.

A caller's `Idempotency-Key` names one request. The first use of a key in its scope records a
fingerprint of the request's body; a later use in the same scope with another fingerprint is a
mistake the API refuses (IETF draft "The Idempotency-Key HTTP Header Field": 422) instead of
answering it with the first request's outcome.

- `idempotency_keys`: one row per (scope, key). The scope is chosen by the caller of this module
  (`api.deps`: client, method, route and registration) and carries no personal data; the
  fingerprint is a keyed hash, never the body itself, which may hold a code or a password.
  Rows older than the keys' lifetime are deleted by `prune`.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, func
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


async def remember(engine: AsyncEngine, scope: str, key: str, fingerprint: str) -> bool:
    """Record that `key` was used in `scope` for a request with `fingerprint`. True when the
    key is new there or was first used with the same fingerprint (a retry); False when it was
    first used with another one. One statement: racing first uses agree on a single winner."""
    async with engine.begin() as connection:
        stored = await connection.scalar(
            insert(IdempotencyKeyUse)
            .values(scope=scope, key=key, fingerprint=fingerprint)
            # A no-op update rather than DO NOTHING, so that RETURNING yields the stored row.
            .on_conflict_do_update(
                index_elements=[IdempotencyKeyUse.scope, IdempotencyKeyUse.key],
                set_={"fingerprint": IdempotencyKeyUse.fingerprint},
            )
            .returning(IdempotencyKeyUse.fingerprint)
        )
    return stored is not None and hmac.compare_digest(stored, fingerprint)


async def prune(engine: AsyncEngine, older_than: timedelta) -> int:
    """Forget the keys first used more than `older_than` ago (by the database's clock) and
    return how many; such a key is new again. Run it now and then, e.g. hourly."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(IdempotencyKeyUse).where(IdempotencyKeyUse.created_at < func.now() - older_than)
        )
    return result.rowcount
