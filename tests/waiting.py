"""The one way tests wait for a registration to reach a stage: look, pause, look again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from registration.journey import Stage

Seen = TypeVar("Seen")


async def pause_briefly() -> None:
    await asyncio.sleep(0.1)


async def wait_for(
    stage: Stage,
    look: Callable[[], Awaitable[Seen]],
    stage_of: Callable[[Seen], Stage | str],
    *,
    pause: Callable[[], Awaitable[None]] = pause_briefly,
    looks: int = 200,
    what: str = "the registration",
) -> Seen:
    """What `look` sees once `stage_of` it is `stage`, pausing between looks (a real sleep,
    or skipped time on a time-skipping server); fails after `looks` looks, naming the stage
    it stayed at."""
    seen = await look()
    for _ in range(looks):
        if stage_of(seen) == stage:
            return seen
        await pause()
        seen = await look()
    raise AssertionError(f"{what} never reached {stage}; it is at {stage_of(seen)}")


async def eventually(condition: Callable[[], bool], what: str, looks: int = 100) -> None:
    """Until `condition` holds, looking every 50 ms of real time (an activity's effect that
    follows the state a test waited for, such as a notice sent after a stage change)."""
    for _ in range(looks):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen")
