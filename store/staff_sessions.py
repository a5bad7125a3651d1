"""Sign-in sessions of staff in a browser (the codec server's `/login`), kept in PostgreSQL.

The browser holds only a random session id (`gss_` and 256 bits); the table keeps its keyed
hash (`registration.callers.token_hash` with the token pepper), never the id or the staff token. A
session is accepted while all of these hold, checked by the database's clock on every use:

- it is younger than its absolute lifetime (`expires_at`) and was used within its idle
  timeout (`last_seen_at + idle_timeout`);
- it was not closed (sign-out deletes the row);
- its client is still usable (`store.access.usable_client`: not revoked, not expired) and
  still holds the token the session was opened with, so rotating the token ends it too.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from registration.callers import Principal, token_hash
from store.access import ApiClient, as_principal, usable_client
from store.schema import Base

SESSION_ID_PREFIX = "gss_"
# secrets.token_urlsafe(32): 32 random bytes as 43 base64url characters.
SESSION_ID_LENGTH = len(SESSION_ID_PREFIX) + 43


class StaffSession(Base):
    """One signed-in browser of one staff client."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    # The client's token hash when the session was opened: a rotation changes the client's.
    client_token_hash: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    idle_timeout: Mapped[timedelta]


def looks_like_session_id(session_id: str) -> bool:
    """Whether `session_id` has the shape of one of ours, so that garbage is refused without
    a database round trip."""
    return len(session_id) == SESSION_ID_LENGTH and session_id.startswith(SESSION_ID_PREFIX)


async def open_session(
    engine: AsyncEngine,
    pepper: bytes,
    principal: Principal,
    token: str,
    *,
    lifetime: timedelta,
    idle_timeout: timedelta,
    replacing: str | None = None,
) -> str:
    """Open a session for `principal`, who has just presented `token`; returns the new
    session id, to hand to the browser and keep nowhere else. Closes the session `replacing`
    (the browser's previous one, if any) and drops every session that is over, in the same
    transaction."""
    if lifetime <= timedelta(0) or idle_timeout <= timedelta(0):
        raise ValueError("a session's lifetime and idle timeout must be positive")
    session_id = SESSION_ID_PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as connection:
        over = or_(
            StaffSession.expires_at <= func.now(),
            StaffSession.last_seen_at + StaffSession.idle_timeout <= func.now(),
        )
        if replacing is not None:
            over = or_(over, StaffSession.id_hash == token_hash(pepper, replacing))
        await connection.execute(delete(StaffSession).where(over))
        await connection.execute(
            insert(StaffSession).values(
                id_hash=token_hash(pepper, session_id),
                client_id=principal.client_id,
                client_token_hash=token_hash(pepper, token),
                expires_at=func.now() + lifetime,
                idle_timeout=idle_timeout,
            )
        )
    return session_id


async def session_principal(
    engine: AsyncEngine, pepper: bytes, session_id: str
) -> Principal | None:
    """The principal signed in with `session_id`, noting the use (which restarts the idle
    timeout); None when the id is malformed or unknown, or the session is over for any of
    the reasons in the module's docstring. One statement."""
    if not looks_like_session_id(session_id):
        return None
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                update(StaffSession)
                .where(
                    StaffSession.id_hash == token_hash(pepper, session_id),
                    StaffSession.expires_at > func.now(),
                    StaffSession.last_seen_at + StaffSession.idle_timeout > func.now(),
                    ApiClient.id == StaffSession.client_id,
                    ApiClient.token_hash == StaffSession.client_token_hash,
                    usable_client(),
                )
                .values(last_seen_at=func.now())
                .returning(
                    ApiClient.id, ApiClient.role, ApiClient.name, ApiClient.service_center_id
                )
            )
        ).one_or_none()
    return None if row is None else as_principal(row)


async def close_session(engine: AsyncEngine, pepper: bytes, session_id: str) -> str | None:
    """End the session (sign-out): its id is refused from now on. Returns the client id it
    belonged to, or None when there was no such session."""
    if not looks_like_session_id(session_id):
        return None
    async with engine.begin() as connection:
        closed: str | None = await connection.scalar(
            delete(StaffSession)
            .where(StaffSession.id_hash == token_hash(pepper, session_id))
            .returning(StaffSession.client_id)
        )
    return closed
