"""Sign-in sessions of people in a browser, kept in PostgreSQL: what the codec server's support
sessions (`store.staff_sessions`) and the clerk console's (`store.clerks`) have in common.

The browser holds only a random session id (a prefix and 256 bits); the table keeps its keyed
hash (`registration.callers.token_hash` with the token pepper), never the id. A session is
accepted while it is younger than its absolute lifetime (`expires_at`) and was used within its
idle timeout (`last_seen_at + idle_timeout`), both by the database's clock, and until it is
closed (its row is deleted). Each kind of session adds who it belongs to, and the conditions
under which that owner may still use it (`Sessions.use`'s `conditions`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, func, not_, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from registration.callers import token_hash

# secrets.token_urlsafe(32): 32 random bytes as 43 base64url characters.
_RANDOM_CHARACTERS = 43


class SessionColumns:
    """The columns every session table has (a declarative mixin: the table class also derives
    from `store.schema.Base`)."""

    id_hash: Mapped[str] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    idle_timeout: Mapped[timedelta]


@dataclass(frozen=True)
class Sessions:
    """The sessions kept in `table`, whose ids start with `prefix`."""

    table: type[SessionColumns]
    prefix: str

    def looks_like(self, session_id: str) -> bool:
        """Whether `session_id` has the shape of one of ours, so that garbage is refused
        without a database round trip."""
        return len(session_id) == len(self.prefix) + _RANDOM_CHARACTERS and session_id.startswith(
            self.prefix
        )

    def alive(self) -> ColumnElement[bool]:
        """The condition on the table under which a session is not over (by the database's
        clock)."""
        table = self.table
        return and_(
            table.expires_at > func.now(), table.last_seen_at + table.idle_timeout > func.now()
        )

    async def open(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        owner: Mapping[str, Any],
        *,
        lifetime: timedelta,
        idle_timeout: timedelta,
        replacing: str | None = None,
    ) -> str:
        """Open a session for `owner` (the table's own columns, by name); returns the new
        session id, to hand to the browser and keep nowhere else. Closes the session
        `replacing` (the browser's previous one, if any) and drops every session that is
        over, in the same transaction."""
        if lifetime <= timedelta(0) or idle_timeout <= timedelta(0):
            raise ValueError("a session's lifetime and idle timeout must be positive")
        table = self.table
        session_id = self.prefix + secrets.token_urlsafe(32)
        async with engine.begin() as connection:
            over = not_(self.alive())
            if replacing is not None:
                over = or_(over, table.id_hash == token_hash(pepper, replacing))
            await connection.execute(delete(table).where(over))
            await connection.execute(
                insert(table).values(
                    id_hash=token_hash(pepper, session_id),
                    expires_at=func.now() + lifetime,
                    idle_timeout=idle_timeout,
                    **owner,
                )
            )
        return session_id

    async def use(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        session_id: str,
        *conditions: ColumnElement[bool],
        returning: tuple[InstrumentedAttribute[Any], ...],
    ) -> Row[Any] | None:
        """The `returning` columns of the session `session_id` while it is alive and
        `conditions` hold (they may name other tables, which join it), noting the use, which
        restarts the idle timeout. None when the id is malformed or unknown or the session is
        over. One statement."""
        if not self.looks_like(session_id):
            return None
        table = self.table
        async with engine.begin() as connection:
            row: Row[Any] | None = (
                await connection.execute(
                    update(table)
                    .where(
                        table.id_hash == token_hash(pepper, session_id), self.alive(), *conditions
                    )
                    .values(last_seen_at=func.now())
                    .returning(*returning)
                )
            ).one_or_none()
        return row

    async def close(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        session_id: str,
        owner: InstrumentedAttribute[str],
    ) -> str | None:
        """End the session (sign-out): its id is refused from now on. Returns its `owner`
        column, or None when there was no such session."""
        if not self.looks_like(session_id):
            return None
        table = self.table
        async with engine.begin() as connection:
            closed: str | None = await connection.scalar(
                delete(table)
                .where(table.id_hash == token_hash(pepper, session_id))
                .returning(owner)
            )
        return closed
