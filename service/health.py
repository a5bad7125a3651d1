"""Is a process healthy: the checks of Temporal and PostgreSQL that the API's readiness and the
worker's probes share, and the worker's probes themselves.

The worker's probes (served with its metrics on `worker_port`, see `worker.py`):
- liveness, `/health/live`: the worker's polling loops run (and, by answering at all, its
  event loop is not blocked). Nothing outside the process counts: restarting the worker
  would not bring Temporal or PostgreSQL back;
- readiness, `/health/ready`: the worker runs, Temporal and PostgreSQL answer, and Temporal
  lists this worker among the pollers of its task queue.
Each answers 200 when healthy, 503 otherwise, with a JSON body saying which part is not.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import Worker

from metrics import exposition

log = logging.getLogger(__name__)

CHECK_DEADLINE = 3.0
"""Seconds a check may take; longer is "unreachable"."""
OK = "ok"
POLLER_SEEN_WITHIN = timedelta(minutes=2)
"""A worker long-polls for at most about a minute before it polls again."""


async def temporal_status(client: Client) -> str:
    """ "ok", "unhealthy" (Temporal answers it is not serving) or "unreachable"."""
    try:
        async with asyncio.timeout(CHECK_DEADLINE):
            healthy = await client.service_client.check_health()
        return OK if healthy else "unhealthy"
    except Exception as error:  # any failure means "not ready"; say which kind, not more
        log.info("health: Temporal %s", type(error).__name__)
        return "unreachable"


async def database_status(engine: AsyncEngine) -> str:
    """ "ok" or "unreachable"."""
    try:
        async with asyncio.timeout(CHECK_DEADLINE), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return OK
    except Exception as error:
        log.info("health: PostgreSQL %s", type(error).__name__)
        return "unreachable"


async def polling_status(client: Client, task_queue: str) -> str:
    """ "ok" when Temporal saw this client's worker poll `task_queue` for workflow tasks
    lately, "not polling" when not, "unreachable" when Temporal does not say."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        async with asyncio.timeout(CHECK_DEADLINE):
            described = await client.workflow_service.describe_task_queue(request)
    except Exception as error:
        log.info("health: task queue %s", type(error).__name__)
        return "unreachable"
    lately = datetime.now(UTC) - POLLER_SEEN_WITHIN
    for poller in described.pollers:
        if poller.identity == client.identity and poller.last_access_time.ToDatetime(UTC) > lately:
            return OK
    return "not polling"


class WorkerProbes:
    """Liveness and readiness of `worker`, which polls `task_queue` through `client`, with
    the account store at `engine`."""

    def __init__(self, worker: Worker, client: Client, engine: AsyncEngine) -> None:
        self._worker = worker
        self._client = client
        self._engine = engine

    def live(self) -> dict[str, str]:
        return {"status": OK if self._worker.is_running else "stopped"}

    async def ready(self) -> dict[str, str]:
        temporal, database, polling = await asyncio.gather(
            temporal_status(self._client),
            database_status(self._engine),
            polling_status(self._client, self._worker.task_queue),
        )
        parts = {
            "worker": self.live()["status"],
            "temporal": temporal,
            "database": database,
            "polling": polling,
        }
        healthy = all(value == OK for value in parts.values())
        return {"status": OK if healthy else "unavailable", **parts}

    def app(self) -> Starlette:
        """`/health/live`, `/health/ready` and `/metrics`."""

        async def live(request: Request) -> JSONResponse:
            return _answer(self.live())

        async def ready(request: Request) -> JSONResponse:
            return _answer(await self.ready())

        return Starlette(
            routes=[
                Route("/health/live", live),
                Route("/health/ready", ready),
                Route(exposition.PATH, exposition.metrics),
            ]
        )


def _answer(health: dict[str, str]) -> JSONResponse:
    healthy = health["status"] == OK
    return JSONResponse(health, status_code=200 if healthy else 503)
