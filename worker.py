"""The worker: connects, assembles the registries of workflows and activities, and runs.

python worker.py        (configuration from GOSREG_* environment variables, see settings.py)

With `GOSREG_WORKER_PORT` it serves its health probes and metrics there (`service.health`)
and counts registrations per stage for them (`service.gauges`); with
`GOSREG_WORKER_SDK_METRICS_PORT`, the SDK's exporter serves the SDK's metrics.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.worker import Worker

from activities import build_activities
from service import gauges
from service.attestation import VerifyingWorker, attestation_key
from service.health import WorkerProbes
from service.logs import configure_logging
from service.temporal import connect, exit_without_finalization
from service.tracing import Tracing
from serving import serving_here
from settings import Settings, load_settings
from store.db import make_engine
from store.embedded import database_url
from workflows import WORKFLOWS

GRACEFUL_SHUTDOWN = timedelta(seconds=10)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever); clean shutdown lets running activities finish."""
    tracing = Tracing.from_environment("gosreg-worker")
    client = await connect(
        settings,
        worker=True,
        tracing=tracing,
        metrics_host=settings.worker_host,
        metrics_port=settings.worker_sdk_metrics_port,
    )
    engine = make_engine(database_url(settings), **settings.pool)
    async with build_activities(
        settings, engine, instrument_http=tracing.instrument_http
    ) as activities:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=activities,
            interceptors=[
                VerifyingWorker(
                    attestation_key(settings.code_secret_bytes),
                    unproven_before=settings.activity_proofs_from,
                )
            ],
            # A redeploy lets running activities (an SMS, a store write) finish rather than
            # abandoning them to a retry after their timeout.
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            **tuning(settings),
        )
        async with worker, contextlib.AsyncExitStack() as observed:
            if settings.worker_port is not None:
                probes = WorkerProbes(worker, client, engine)
                await observed.enter_async_context(
                    serving_here(probes.app(), host=settings.worker_host, port=settings.worker_port)
                )
                if settings.stage_gauges_seconds:
                    every = timedelta(seconds=settings.stage_gauges_seconds)
                    counting = asyncio.create_task(
                        gauges.keep_counting(client, settings.temporal_task_queue, every)
                    )
                    observed.callback(counting.cancel)
            logging.getLogger(__name__).info(
                "worker polling %s on %s", settings.temporal_task_queue, settings.temporal_address
            )
            await (stop or asyncio.Event()).wait()
    await engine.dispose()
    tracing.shutdown()


def tuning(settings: Settings) -> dict[str, Any]:
    """The worker's capacity, by configuration (`GOSREG_WORKER_*`; docs/deployment.md): unset
    values keep the SDK's defaults."""
    chosen = {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_task_queue_activities_per_second": settings.worker_activities_per_second,
    }
    return {name: value for name, value in chosen.items() if value is not None}


def compile_workflow_code() -> None:
    """Write the bytecode of the code the workflow sandbox imports afresh for every workflow
    it creates (a new registration, or one woken after leaving the cache). Where
    PYTHONDONTWRITEBYTECODE is set (many images, this project's machines) nothing else does,
    and each import would compile the source again (14 ms of CPU for `workflows/`, measured);
    an existing `.pyc` is read all the same. A read-only tree is left as it is."""
    root = Path(__file__).resolve().parent
    for package in ("workflows", "registration"):
        compileall.compile_dir(root / package, quiet=2, workers=1)


def main() -> None:
    configure_logging("worker")
    settings = load_settings()
    settings.check_secrets()  # refuse to start without them, not on a first task
    compile_workflow_code()
    asyncio.run(run_until_signalled(settings))
    exit_without_finalization()


async def run_until_signalled(settings: Settings) -> None:
    """Run until SIGTERM (a service manager, `gosreg stack`) or SIGINT, then shut down cleanly."""
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await run_worker(settings, stop)
    logging.getLogger(__name__).info("worker stopped")


if __name__ == "__main__":
    main()
