"""An async client of the simulators' outbox and control routes, for tests, fault drills and
the demo: inject faults, move simulator time, read what was "sent" and how often."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import httpx
from pydantic import TypeAdapter

from simulators.config import Timings
from simulators.schemas import (
    ClockNow,
    FaultMode,
    MessageKind,
    OutboxLetter,
    OutboxMessage,
    Party,
    PartyCounts,
    ReceivedEvent,
)

_MESSAGES = TypeAdapter(list[OutboxMessage])
_LETTERS = TypeAdapter(list[OutboxLetter])
_COUNTS = TypeAdapter(dict[str, PartyCounts])
_EVENTS = TypeAdapter(list[ReceivedEvent])


class SimulatorControl:
    """Talks to the simulators at `base_url` (e.g. `RunningSimulators.url`)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SimulatorControl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        response = await self._http.request(method, path, json=json, params=params)
        response.raise_for_status()
        return response

    async def reset(self) -> None:
        """Forget everything: outboxes, requests, faults, counts, timing changes, clock moves."""
        await self._call("POST", "/control/reset")

    async def inject_fault(
        self, party: Party, mode: FaultMode | str, *, count: int = 1, delay_seconds: float = 30.0
    ) -> None:
        """The party's next `count` calls meet the fault (see `simulators.schemas.FaultMode`)."""
        fault = {"party": party, "mode": mode, "count": count, "delay_seconds": delay_seconds}
        await self._call("POST", "/control/faults", json=fault)

    async def clear_faults(self, party: Party | None = None) -> None:
        params = {"party": party} if party else {}
        await self._call("DELETE", "/control/faults", params=params)

    async def configure(self, **changes: float) -> Timings:
        """Change timings, e.g. `configure(mvd_delay_seconds=0)`; returns them all."""
        response = await self._call("POST", "/control/config", json=changes)
        return Timings.model_validate(response.json())

    async def advance_clock(self, seconds: float) -> datetime:
        """Move simulator time forward; returns the simulators' new now."""
        response = await self._call("POST", "/control/clock", json={"advance_seconds": seconds})
        return ClockNow.model_validate(response.json()).now

    async def messages(
        self, *, to: str | None = None, kind: MessageKind | str | None = None
    ) -> list[OutboxMessage]:
        params = {key: value for key, value in {"to": to, "kind": kind}.items() if value}
        response = await self._call("GET", "/outbox/messages", params=params)
        return _MESSAGES.validate_python(response.json())

    async def letters(
        self, *, recipient: str | None = None, tracking_number: str | None = None
    ) -> list[OutboxLetter]:
        wanted = {"recipient": recipient, "tracking_number": tracking_number}
        params = {key: value for key, value in wanted.items() if value}
        response = await self._call("GET", "/outbox/letters", params=params)
        return _LETTERS.validate_python(response.json())

    async def portal_events(self, registration_id: str | None = None) -> list[ReceivedEvent]:
        """The webhook events the simulated portal received, oldest first."""
        params = {"registration_id": registration_id} if registration_id else {}
        response = await self._call("GET", "/outbox/portal-events", params=params)
        return _EVENTS.validate_python(response.json())

    async def counts(self) -> dict[str, PartyCounts]:
        """Per party: distinct sends/requests, duplicate hits, refusals, polls, faults met."""
        response = await self._call("GET", "/outbox/counts")
        return _COUNTS.validate_python(response.json())

    # --- what the citizen reads -----------------------------------------------------------------

    async def sms_code(self, phone: str, *, seconds: float = 10.0) -> str:
        """The code in the newest SMS to `phone`, waiting up to `seconds` for one to arrive."""
        message = await _newest(lambda: self.messages(to=phone, kind="sms"), seconds)
        found = SMS_CODE.search(message.text or "")
        if found is None:
            raise LookupError("the newest SMS carries no code")
        return found.group(0)

    async def email_token(self, address: str, *, seconds: float = 10.0) -> str:
        """The token of the confirmation link in the newest e-mail to `address`."""
        message = await _newest(lambda: self.messages(to=address, kind="email"), seconds)
        found = EMAIL_TOKEN.search(message.body or "")
        if found is None:
            raise LookupError("the newest e-mail carries no confirmation link")
        return found.group(1)

    async def password_link(self, phone: str, *, seconds: float = 10.0) -> str:
        """The link to set a password in the newest SMS to `phone` that carries one (an account
        made at a service center), waiting up to `seconds` for one: the registration shows as
        confirmed a moment before the link's SMS is out, and the code's SMS came before."""

        async def links() -> list[str]:
            messages = await self.messages(to=phone, kind="sms")
            return [
                found.group(0)
                for message in messages
                if (found := PASSWORD_LINK.search(message.text or "")) is not None
            ]

        return await _newest(links, seconds)

    async def letter_code(self, tracking_number: str, *, seconds: float = 10.0) -> str:
        """The code printed in the registered letter `tracking_number`."""
        letter = await _newest(lambda: self.letters(tracking_number=tracking_number), seconds)
        found = LETTER_CODE.search(letter.body)
        if found is None:
            raise LookupError("the letter carries no code")
        return found.group(0)


SMS_CODE = re.compile(r"\b[0-9]{6}\b")
EMAIL_TOKEN = re.compile(r"[?&]token=([0-9A-Z]+)")
PASSWORD_LINK = re.compile(r"https?://\S+/set-password\?\S+")
LETTER_CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")
T = TypeVar("T")


async def _newest(read: Callable[[], Awaitable[list[T]]], seconds: float) -> T:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        items = await read()
        if items:
            return items[-1]
        if asyncio.get_running_loop().time() >= deadline:
            raise LookupError(f"nothing arrived in the outbox within {seconds:g} s")
        await asyncio.sleep(0.1)
