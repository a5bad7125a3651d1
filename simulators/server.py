"""Serve the simulators from a background thread on a loopback port (tests, the dev stack).

with RunningSimulators(SimulatorConfig(clock=clock)) as simulators:
    settings = Settings(simulators_url=simulators.url)
"""

from __future__ import annotations

from typing import Any

from serving import ServerThread
from simulators.app import create_app
from simulators.config import SimulatorConfig


class RunningSimulators(ServerThread):
    """The simulators served by uvicorn in a daemon thread (see `ServerThread`)."""

    def __init__(self, config: SimulatorConfig | None = None, **options: Any) -> None:
        super().__init__(create_app(config), name="simulators", **options)
