"""Who a token is, remembered for a moment, and forgotten the instant it is revoked.

Every API request presents a token. Asking PostgreSQL each time costs a transaction per
request, so an instance keeps the verdicts of the tokens it saw (only accepted ones: a new
token works at once, and garbage fills nothing) for `ttl`, never past the token's expiry.

Revocation stays instant. `store.access` announces every revoked or rotated client on the
`TOKEN_CHANGES` channel (PostgreSQL NOTIFY, delivered at commit); each instance LISTENs on a
connection of its own and forgets that client's verdicts when the notice arrives. A verdict read
while a notice arrived is not kept (it may predate the change), and while the listening
connection is down nothing is kept at all: every request asks PostgreSQL, as without a cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal, token_hash
from store import access

log = logging.getLogger(__name__)
RECONNECT_AFTER = timedelta(seconds=1)
HEARTBEAT = timedelta(seconds=5)
"""How often a quiet listening connection is checked; a dead one stops the cache meanwhile."""


@dataclass(frozen=True)
class _Kept:
    principal: Principal
    until: float
    """time.monotonic() after which the verdict is asked for again."""


class TokenVerdicts:
    def __init__(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        database_url: str,
        *,
        ttl: timedelta = timedelta(seconds=30),
        size: int = 10_000,
    ) -> None:
        self._engine = engine
        self._pepper = pepper
        self._conninfo = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._ttl = ttl.total_seconds()
        self._size = size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._changes = 0
        """Notices received: a verdict read across one is not kept."""
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening for revocations (in the background: PostgreSQL may be down)."""
        self._task = asyncio.create_task(self._listen(), name="token-changes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def listening(self) -> bool:
        return self._listening

    async def authenticate(self, token: str) -> Principal | None:
        """`store.access.authenticate`, answered from memory when the verdict is fresh."""
        key = token_hash(self._pepper, token)
        kept = self._kept.get(key)
        if kept is not None and self._listening and time.monotonic() < kept.until:
            return kept.principal
        changes = self._changes
        verdict = await access.token_verdict(self._engine, self._pepper, token)
        if verdict is None:
            self._kept.pop(key, None)
            return None
        if self._listening and self._changes == changes:
            self._keep(key, verdict)
        return verdict.principal

    def _keep(self, key: str, verdict: access.Verdict) -> None:
        until = time.monotonic() + self._ttl
        if verdict.expires_at is not None:
            left = (verdict.expires_at - datetime.now(UTC)).total_seconds()
            until = min(until, time.monotonic() + left)
        self._kept[key] = _Kept(verdict.principal, until)
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def _forget(self, client_id: str | None = None) -> None:
        self._changes += 1
        if client_id is None:
            self._kept.clear()
            return
        for key in [k for k, kept in self._kept.items() if kept.principal.client_id == client_id]:
            del self._kept[key]

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=10
                ) as connection:
                    await connection.execute(f"LISTEN {access.TOKEN_CHANGES}")
                    self._forget()  # whatever changed while nobody listened
                    self._listening = True
                    while True:
                        async for notice in connection.notifies(timeout=HEARTBEAT.total_seconds()):
                            self._forget(notice.payload)
                        # Quiet for a while: make sure the connection still carries notices.
                        await asyncio.wait_for(connection.execute("SELECT 1"), 5)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # PostgreSQL down or restarting: ask it every time
                log.warning("not listening for token changes: %s", type(error).__name__)
            finally:
                self._listening = False
                self._forget()
            await asyncio.sleep(RECONNECT_AFTER.total_seconds())
