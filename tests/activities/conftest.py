"""Real HTTP on loopback: the simulators serve from a background thread, the real clients and
activity classes talk to them, and activities run inside Temporal's ActivityEnvironment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.http import HttpClient
from settings import Settings
from simulators import ManualClock, SimulatorConfig
from simulators.control import SimulatorControl
from simulators.server import RunningSimulators


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    """Simulator time: tests advance it instead of sleeping through agency delays."""
    return ManualClock()


@pytest.fixture(scope="session")
def simulators(clock: ManualClock) -> Iterator[RunningSimulators]:
    with RunningSimulators(SimulatorConfig(clock=clock)) as running:
        yield running


@pytest.fixture(scope="session")
def settings(simulators: RunningSimulators) -> Settings:
    """The real wiring, pointed at the simulators, with a deadline short enough to test and
    long enough for a busy machine: the suite runs in two processes, and 0.5 s once timed out
    a loopback answer while the other one was busy (CI)."""
    return Settings(
        simulators_url=simulators.url,
        http_timeout_seconds=2.0,
        code_secret="test-code-secret",
    )


@pytest.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[HttpClient]:
    async with HttpClient(settings.http_timeout_seconds) as client:
        yield client


@pytest.fixture(scope="session")
async def control(simulators: RunningSimulators) -> AsyncIterator[SimulatorControl]:
    async with SimulatorControl(simulators.url) as client:
        yield client


@pytest.fixture(autouse=True)
async def fresh_world(control: SimulatorControl) -> None:
    await control.reset()


@pytest.fixture
def heartbeats() -> list[tuple[Any, ...]]:
    """Every heartbeat an activity sends while running in `env`."""
    return []


@pytest.fixture
def env(heartbeats: list[tuple[Any, ...]]) -> ActivityEnvironment:
    environment = ActivityEnvironment()
    environment.on_heartbeat = lambda *details: heartbeats.append(details)
    return environment


@pytest.fixture
def registration_id() -> str:
    return f"reg-{uuid.uuid4().hex[:12]}"
