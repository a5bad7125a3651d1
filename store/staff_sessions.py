"""Sign-in sessions of staff in a browser (the codec server's `/login`), kept in PostgreSQL.

The browser holds only a random session id (`gss_` and 256 bits); the table keeps its keyed
hash, never the id or the staff token (`store.browser_sessions`). A session is accepted while
all of these hold, checked by the database's clock on every use:

- it is younger than its absolute lifetime (`expires_at`) and was used within its idle
  timeout (`last_seen_at + idle_timeout`);
- it was not closed (sign-out deletes the row);
- its client is still usable (`store.access.usable_client`: not revoked, not expired) and
  still holds the token the session was opened with, so rotating the token ends it too.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ForeignKey
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from registration.callers import Principal, token_hash
from store.access import ApiClient, as_principal, usable_client
from store.browser_sessions import SessionColumns, Sessions
from store.schema import Base


class StaffSession(SessionColumns, Base):
    """One signed-in browser of one staff client."""

    __tablename__ = "staff_sessions"

    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    # The client's token hash when the session was opened: a rotation changes the client's.
    client_token_hash: Mapped[str]


SESSIONS = Sessions(StaffSession, prefix="gss_")


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
    return await SESSIONS.open(
        engine,
        pepper,
        {"client_id": principal.client_id, "client_token_hash": token_hash(pepper, token)},
        lifetime=lifetime,
        idle_timeout=idle_timeout,
        replacing=replacing,
    )


async def session_principal(
    engine: AsyncEngine, pepper: bytes, session_id: str
) -> Principal | None:
    """The principal signed in with `session_id`, noting the use (which restarts the idle
    timeout); None when the id is malformed or unknown, or the session is over for any of
    the reasons in the module's docstring. One statement."""
    row = await SESSIONS.use(
        engine,
        pepper,
        session_id,
        ApiClient.id == StaffSession.client_id,
        ApiClient.token_hash == StaffSession.client_token_hash,
        usable_client(),
        returning=(ApiClient.id, ApiClient.role, ApiClient.name, ApiClient.service_center_id),
    )
    return None if row is None else as_principal(row)


async def close_session(engine: AsyncEngine, pepper: bytes, session_id: str) -> str | None:
    """End the session (sign-out): its id is refused from now on. Returns the client id it
    belonged to, or None when there was no such session."""
    return await SESSIONS.close(engine, pepper, session_id, StaffSession.client_id)
