"""The worker's health probes: live while its polling loops run, ready once Temporal and
PostgreSQL answer and Temporal lists it among its task queue's pollers; each says which part
is not, over HTTP too."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ops.stack import free_port
from service.health import WorkerProbes
from serving import serving_here
from store.db import make_engine
from workflows import WORKFLOWS


async def ready_soon(probes: WorkerProbes, looks: int = 75) -> dict[str, str]:
    """The readiness once it is ok, or the last one after `looks` looks 0.2 s apart."""
    for _ in range(looks):
        said = await probes.ready()
        if said["status"] == "ok":
            break
        await asyncio.sleep(0.2)
    return said


async def test_a_polling_worker_is_live_and_ready_and_a_stopped_one_is_not(
    dev_server: WorkflowEnvironment, store_engine: AsyncEngine
) -> None:
    client = dev_server.client
    worker = Worker(client, task_queue=f"probes-{uuid.uuid4()}", workflows=WORKFLOWS)
    probes = WorkerProbes(worker, client, store_engine)
    assert probes.live() == {"status": "stopped"}, "not polling before it runs"
    port = free_port()
    async with (
        worker,
        serving_here(probes.app(), host="127.0.0.1", port=port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert await ready_soon(probes) == {
            "status": "ok",
            "worker": "ok",
            "temporal": "ok",
            "database": "ok",
            "polling": "ok",
        }
        live, ready = await http.get("/health/live"), await http.get("/health/ready")
        assert (live.status_code, ready.status_code) == (200, 200)
        scraped = await http.get("/metrics")
        assert scraped.status_code == 200 and "gosreg_registrations_started_total" in scraped.text
    assert probes.live() == {"status": "stopped"}
    assert (await probes.ready())["worker"] == "stopped"


async def test_readiness_names_what_does_not_answer(dev_server: WorkflowEnvironment) -> None:
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    worker = Worker(dev_server.client, task_queue=f"probes-{uuid.uuid4()}", workflows=WORKFLOWS)
    try:
        said = await WorkerProbes(worker, nowhere, engine).ready()
    finally:
        await engine.dispose()
    assert said == {
        "status": "unavailable",
        "worker": "stopped",
        "temporal": "unreachable",
        "database": "unreachable",
        "polling": "unreachable",
    }
