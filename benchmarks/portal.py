"""The benchmark's portal: a webhook receiver, so that the load generator learns a stage change
the way a real portal does, from the event gosreg sends, instead of polling the state.

It listens on loopback, checks every delivery's Standard Webhooks signature and timestamp with
the stack's secret (`registration.webhooks.verify`: a forged or stale one is refused with
401), applies each event id once (a retry is counted, not applied again), and remembers the
stages each registration has reached. `reached` waits until a registration has reached a
stage, and fails at once when it reached a dead end instead.

Events of one registration may arrive in any order (each stage change is its own delivery,
retried on its own), so it keeps the set of stages seen, not the last one.

A plain ASGI application served by uvicorn in the benchmark's own event loop: no framework,
so that the receiver costs the load generator little.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from registration.journey import Stage
from registration.webhooks import InvalidSignature, secret_key, verify

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class DeadEnd(Exception):
    """The registration reached a stage its journey must never reach."""


@dataclass
class Deliveries:
    applied: int = 0
    repeated: int = 0
    """Deliveries of an event id applied before (a retry after a lost answer)."""
    refused: int = 0
    """Bad signature, stale timestamp or unreadable body: 401."""


@dataclass
class PortalReceiver:
    secret: str
    deliveries: Deliveries = field(default_factory=Deliveries)
    _key: bytes = b""
    _ids: set[str] = field(default_factory=set)
    _stages: defaultdict[str, set[Stage]] = field(default_factory=lambda: defaultdict(set))
    _changed: dict[str, asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._key = secret_key(self.secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405)
            return
        content = b""
        while True:
            message = await receive()
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        try:
            event_id = verify(self._key, headers, content, int(time.time()))
            data = json.loads(content)["data"]
            registration_id, stage = str(data["registration_id"]), Stage(data["stage"])
        except (InvalidSignature, ValueError, KeyError, TypeError):
            self.deliveries.refused += 1
            await _answer(send, 401)
            return
        if event_id in self._ids:
            self.deliveries.repeated += 1
        else:
            self._ids.add(event_id)
            self.deliveries.applied += 1
            self._stages[registration_id].add(stage)
            self._event(registration_id).set()
        await _answer(send, 204)

    def _event(self, registration_id: str) -> asyncio.Event:
        return self._changed.setdefault(registration_id, asyncio.Event())

    async def reached(
        self, registration_id: str, stage: Stage, dead_ends: Collection[Stage] = ()
    ) -> None:
        """Return once an event said the registration reached `stage`; `DeadEnd` once one
        said it reached any of `dead_ends` instead. The caller bounds the wait."""
        changed = self._event(registration_id)
        while True:
            seen = self._stages[registration_id]
            if stage in seen:
                return
            wrong = seen & set(dead_ends)
            if wrong:
                raise DeadEnd(f"waiting for {stage}, the portal heard {sorted(wrong)}")
            changed.clear()
            await changed.wait()

    def forget(self, registration_id: str) -> None:
        """Drop what is kept of a registration whose journey the benchmark is done with."""
        self._stages.pop(registration_id, None)
        self._changed.pop(registration_id, None)


async def _answer(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serving(receiver: PortalReceiver, port: int) -> AsyncIterator[str]:
    """Serve `receiver` on 127.0.0.1:`port` in this event loop; its URL."""
    config = uvicorn.Config(
        receiver,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=60,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (the port taken, say)
            raise SystemExit(f"the benchmark's portal could not listen on port {port}")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        server.should_exit = True
        await task
