"""How the simulated outside world behaves in time: answer delays, letter timings and the clock.

Defaults are tuned for the demo (a whole registration in about a minute), not for realism:
the real agencies take minutes to days and a letter takes weeks (DOMAIN.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

Clock = Callable[[], datetime]
"""Returns the simulator's idea of "now" as an aware datetime."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Timings(BaseModel):
    """The part of the configuration that `POST /control/config` can change at run time."""

    model_config = ConfigDict(extra="forbid")

    pension_fund_delay_seconds: float = Field(default=2.0, ge=0)
    mvd_delay_seconds: float = Field(default=2.0, ge=0)
    fns_delay_seconds: float = Field(default=1.0, ge=0)
    letter_transit_after_seconds: float = Field(default=10.0, ge=0)
    """A letter is `accepted` until then, `in_transit` after."""
    letter_arrival_after_seconds: float = Field(default=30.0, ge=0)
    """A letter is `arrived_at_post_office` (ready for pickup) after this."""

    def agency_delay(self, party: str) -> timedelta:
        """How long the agency behind the route prefix `party` takes to answer."""
        seconds = {
            "pension-fund": self.pension_fund_delay_seconds,
            "mvd": self.mvd_delay_seconds,
            "fns": self.fns_delay_seconds,
        }[party]
        return timedelta(seconds=seconds)

    def patched(self, changes: dict[str, float]) -> Timings:
        """These timings with `changes` applied; raises pydantic's ValidationError on an unknown
        field or a negative number."""
        return Timings.model_validate(self.model_dump() | changes)


DEV_WEBHOOK_SECRET = "whsec_Z29zcmVnLXNpbXVsYXRlZC1wb3J0YWwtc2VjcmV0IQ=="
"""The simulated portal's webhook secret (development and tests only: it is public here)."""


class SimulatorConfig(Timings):
    """Everything `create_app` needs. `clock` is injectable so tests can move simulator time
    forward instead of sleeping; `POST /control/clock` can move it further at run time."""

    model_config = ConfigDict(extra="forbid")

    portal_webhook_secret: str = DEV_WEBHOOK_SECRET
    """What the simulated portal checks webhook signatures with."""

    clock: Clock = Field(default=utc_now, exclude=True)

    def timings(self) -> Timings:
        return Timings.model_validate(self.model_dump(exclude={"portal_webhook_secret"}))


class ManualClock:
    """A clock that stands still until told to move: `SimulatorConfig(clock=ManualClock())`.

    Safe to advance from a test thread while the simulators serve from another.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now
