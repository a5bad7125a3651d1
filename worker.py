"""The worker: connects, assembles the registries of workflows and activities, and runs.

python worker.py        (configuration from GOSREG_* environment variables, see settings.py)
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.worker import Worker

from activities import build_activities
from service.logs import configure_logging
from service.temporal import connect
from settings import Settings, load_settings
from store.db import make_engine
from store.embedded import database_url
from workflows import WORKFLOWS


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever); clean shutdown lets running activities finish."""
    client = await connect(settings)
    engine = make_engine(database_url(settings))
    async with build_activities(settings, engine) as activities:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=activities,
        )
        async with worker:
            logging.getLogger(__name__).info(
                "worker polling %s on %s", settings.temporal_task_queue, settings.temporal_address
            )
            await (stop or asyncio.Event()).wait()
    await engine.dispose()


def main() -> None:
    configure_logging("worker")
    try:
        asyncio.run(run_worker(load_settings()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
