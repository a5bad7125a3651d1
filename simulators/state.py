"""The simulated world's memory: outboxes, agency requests, injected faults and counters.

Everything lives in dicts behind one lock, so the state can be read from a test thread while
the server answers from its own; every method holds the lock only for dict work, never across
an await.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from simulators import rules
from simulators.config import SimulatorConfig, Timings
from simulators.schemas import (
    PARTIES,
    AgencyParty,
    EmailIn,
    Fault,
    LetterIn,
    LetterTracking,
    MessageKind,
    OutboxLetter,
    OutboxMessage,
    Party,
    PartyCounts,
    ReceivedEvent,
    SmsIn,
    fingerprint,
)

T = TypeVar("T")
Counter = Literal["distinct", "duplicates", "rejected", "polls", "faults"]
GATEWAYS: dict[MessageKind, Party] = {
    MessageKind.SMS: "sms-gateway",
    MessageKind.EMAIL: "email-gateway",
}


class IdempotencyConflict(Exception):
    """The idempotency key (or request key) was used before for different content."""


@dataclass(frozen=True)
class AgencyRequest:
    request_id: str
    party: AgencyParty
    submitted_at: datetime
    answer: BaseModel | None
    """What the agency will say once its delay has passed; None: it never answers."""


class _Once(Generic[T]):
    """Records by idempotency key, remembering the content each key was first used for."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[dict[str, Any], T]] = {}

    def get_or_create(
        self, key: str, content: dict[str, Any], create: Callable[[], T]
    ) -> tuple[T, bool]:
        """The record for `key` and whether it was created now."""
        if key in self._records:
            seen, record = self._records[key]
            if seen != content:
                raise IdempotencyConflict(key)
            return record, False
        record = create()
        self._records[key] = (content, record)
        return record, True

    def records(self) -> list[T]:
        return [record for _, record in self._records.values()]


class SimulatorState:
    """All the simulators remember. `reset()` forgets everything, restores the configured
    timings and puts the clock back to the injected clock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._clock = config.clock
        self._initial_timings = config.timings()
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._timings = self._initial_timings
        self._clock_offset = timedelta(0)
        self._messages: dict[MessageKind, _Once[OutboxMessage]] = {
            kind: _Once() for kind in MessageKind
        }
        self._letters: _Once[OutboxLetter] = _Once()
        self._letters_by_tracking: dict[str, OutboxLetter] = {}
        self._requests: dict[str, _Once[AgencyRequest]] = {}
        self._requests_by_id: dict[str, AgencyRequest] = {}
        self._faults: dict[Party, Fault] = {}
        self._counts = {party: PartyCounts() for party in PARTIES}
        self._events: dict[str, ReceivedEvent] = {}

    def reset(self) -> None:
        with self._lock:
            self._clear()

    # --- time ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock() + self._clock_offset

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move simulator time forward (on top of the injected clock); returns the new now."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)
            return self._now()

    @property
    def timings(self) -> Timings:
        with self._lock:
            return self._timings

    def change_timings(self, changes: dict[str, float]) -> Timings:
        """Apply `changes`; raises pydantic's ValidationError and changes nothing if invalid."""
        with self._lock:
            self._timings = self._timings.patched(changes)
            return self._timings

    # --- counters --------------------------------------------------------------------------------

    def _count(self, party: Party, counter: Counter) -> None:
        counts = self._counts[party]
        setattr(counts, counter, getattr(counts, counter) + 1)

    def count(self, party: Party, counter: Counter) -> None:
        with self._lock:
            self._count(party, counter)

    def counts(self) -> dict[Party, PartyCounts]:
        with self._lock:
            return {party: counts.model_copy() for party, counts in self._counts.items()}

    def _once(
        self,
        party: Party,
        table: _Once[T],
        key: str,
        content: dict[str, Any],
        create: Callable[[], T],
    ) -> T:
        try:
            record, created = table.get_or_create(key, content, create)
        except IdempotencyConflict:
            self._count(party, "rejected")
            raise
        self._count(party, "distinct" if created else "duplicates")
        return record

    # --- gateways --------------------------------------------------------------------------------

    def send_message(self, kind: MessageKind, request: SmsIn | EmailIn) -> OutboxMessage:
        """Put a message in the outbox once per idempotency key; raises IdempotencyConflict."""
        with self._lock:
            return self._once(
                GATEWAYS[kind],
                self._messages[kind],
                request.idempotency_key,
                fingerprint(request, "idempotency_key"),
                lambda: OutboxMessage(
                    message_id=uuid.uuid4().hex,
                    kind=kind,
                    sent_at=self._now(),
                    **request.model_dump(),
                ),
            )

    def messages(self, *, to: str | None, kind: MessageKind | None) -> list[OutboxMessage]:
        with self._lock:
            found = [
                m for k in MessageKind if kind in (None, k) for m in self._messages[k].records()
            ]
        return sorted((m for m in found if to in (None, m.to)), key=lambda m: m.sent_at)

    # --- the portal's webhook receiver ------------------------------------------------------------

    def receive_event(self, event_id: str, body: dict[str, Any]) -> None:
        """Keep an event once per id, counting how often it came."""
        with self._lock:
            known = self._events.get(event_id)
            if known is not None:
                self._events[event_id] = known.model_copy(
                    update={"deliveries": known.deliveries + 1}
                )
                return
            self._events[event_id] = ReceivedEvent(
                id=event_id,
                type=body.get("type", ""),
                timestamp=body.get("timestamp", self._now()),
                data=body.get("data", {}),
                deliveries=1,
                received_at=self._now(),
            )

    def events(self, registration_id: str | None) -> list[ReceivedEvent]:
        with self._lock:
            found = list(self._events.values())
        wanted = [e for e in found if registration_id in (None, e.data.get("registration_id"))]
        return sorted(wanted, key=lambda e: (e.received_at, e.id))

    # --- Russian Post ----------------------------------------------------------------------------

    def order_letter(self, request: LetterIn) -> OutboxLetter:
        """Post a letter once per idempotency key; raises IdempotencyConflict."""
        with self._lock:
            return self._once(
                "post",
                self._letters,
                request.idempotency_key,
                fingerprint(request, "idempotency_key"),
                lambda: self._new_letter(request),
            )

    def _new_letter(self, request: LetterIn) -> OutboxLetter:
        now = self._now()
        serial = len(self._letters_by_tracking) + 1
        letter = OutboxLetter(
            tracking_number=rules.tracking_number(now, serial),
            ordered_at=now,
            **request.model_dump(),
        )
        self._letters_by_tracking[letter.tracking_number] = letter
        return letter

    def track_letter(self, tracking_number: str) -> LetterTracking | None:
        with self._lock:
            self._count("post", "polls")
            letter = self._letters_by_tracking.get(tracking_number)
            if letter is None:
                return None
            return rules.letter_progress(letter, self._now(), self._timings)

    def letters(self, *, recipient: str | None, tracking_number: str | None) -> list[OutboxLetter]:
        with self._lock:
            found = self._letters.records()
        return [
            letter
            for letter in found
            if recipient in (None, letter.recipient)
            and tracking_number in (None, letter.tracking_number)
        ]

    # --- agencies --------------------------------------------------------------------------------

    def submit(
        self, party: AgencyParty, request_key: str, request: BaseModel, answer: BaseModel | None
    ) -> AgencyRequest:
        """Register a request once per request key; raises IdempotencyConflict."""
        with self._lock:
            table = self._requests.setdefault(party, _Once())
            return self._once(
                party,
                table,
                request_key,
                fingerprint(request, "request_key"),
                lambda: self._new_request(party, answer),
            )

    def _new_request(self, party: AgencyParty, answer: BaseModel | None) -> AgencyRequest:
        request = AgencyRequest(uuid.uuid4().hex, party, self._now(), answer)
        self._requests_by_id[request.request_id] = request
        return request

    def answer(self, party: AgencyParty, request_id: str) -> tuple[bool, BaseModel | None]:
        """(known, answer): whether the agency knows the request, and its answer if it has
        given one yet."""
        with self._lock:
            self._count(party, "polls")
            request = self._requests_by_id.get(request_id)
            if request is None or request.party != party:
                return False, None
            due = request.submitted_at + self._timings.agency_delay(party)
            return True, request.answer if self._now() >= due else None

    # --- faults ----------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """The party's next `fault.count` calls meet the fault (replacing any earlier one)."""
        with self._lock:
            self._faults[fault.party] = fault

    def clear_faults(self, party: Party | None = None) -> None:
        with self._lock:
            if party is None:
                self._faults.clear()
            else:
                self._faults.pop(party, None)

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def take_fault(self, party: Party) -> Fault | None:
        """The fault this call of `party` meets, if any; uses one of its count."""
        with self._lock:
            fault = self._faults.get(party)
            if fault is None:
                return None
            if fault.count > 1:
                self._faults[party] = fault.model_copy(update={"count": fault.count - 1})
            else:
                del self._faults[party]
            self._count(party, "faults")
            return fault
