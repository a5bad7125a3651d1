"""Metrics on the real stack: the worker and the API as they run in production (`run_worker`,
`create_app`) with every exporter on, one registration walked over HTTP to `confirmed`, and
then what Prometheus would scrape: the SDK's metrics and the business ones, and none of the
person's data or ids. With Debian's `prometheus` installed, a real Prometheus scrapes them."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.limits import server_header_limit
from metrics.sdk import STAGE_DURATION
from ops.monitoring import Target, prometheus_config
from ops.stack import free_port
from registration.callers import Role
from registration.journey import Stage
from serving import ServerThread
from settings import Settings
from simulators.control import SimulatorControl
from store import access
from tests.citizens import Citizen
from tests.data import ADDRESS, PROFILE
from tests.scraping import families, queried_families, samples, scrape
from worker import run_worker


@dataclass(frozen=True)
class Observed:
    """Where the stack's processes serve their metrics."""

    api: str
    api_sdk: str
    worker: str
    worker_sdk: str

    def targets(self) -> list[Target]:
        return [
            Target(job, url.removeprefix("http://"))
            for job, url in (
                ("gosreg-api", self.api),
                ("gosreg-api-sdk", self.api_sdk),
                ("gosreg-worker", self.worker),
                ("gosreg-worker-sdk", self.worker_sdk),
            )
        ]


def distinct_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def observed(stack_settings: Settings) -> AsyncIterator[Observed]:
    worker_port, worker_sdk, api_sdk = distinct_ports(3)
    settings = stack_settings.model_copy(
        update={
            "temporal_task_queue": f"metrics-{uuid.uuid4()}",
            "worker_port": worker_port,
            "worker_sdk_metrics_port": worker_sdk,
            "api_sdk_metrics_port": api_sdk,
            "stage_gauges_seconds": 1,
        }
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    app = create_app(settings)
    limit = server_header_limit(settings)
    try:
        with ServerThread(app, name="api", lifespan="on", header_limit=limit) as api:
            here = Observed(
                api=api.url,
                api_sdk=f"http://127.0.0.1:{api_sdk}",
                worker=f"http://127.0.0.1:{worker_port}",
                worker_sdk=f"http://127.0.0.1:{worker_sdk}",
            )
            async with httpx.AsyncClient(base_url=here.worker) as probe:
                for _ in range(100):
                    assert not worker.done(), worker
                    try:
                        if (await probe.get("/health/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    pytest.fail("the worker did not become ready")
            yield here
    finally:
        stop.set()
        await worker


async def test_a_journey_shows_in_the_sdks_and_the_business_metrics_without_personal_data(
    observed: Observed,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    outbox: SimulatorControl,
    tmp_path: Path,
) -> None:
    _, portal = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.PORTAL, "metrics portal"
    )
    async with httpx.AsyncClient(base_url=observed.api, timeout=30) as http:
        citizen = Citizen(http, portal, outbox)
        await citizen.reach_identity_stage()
        letter = await citizen.choose_letter()
        tracking = letter["letter"]["tracking_number"]
        code = await outbox.letter_code(tracking)
        assert (await citizen.call("POST", "/letter-code", {"code": code})).json()["accepted"]
        await citizen.wait_for(Stage.CONFIRMED)
        refused = await citizen.call("PUT", "/profile", PROFILE.model_dump(mode="json"))
        assert refused.status_code == 409
    await asyncio.sleep(1.5)  # the stage gauges are counted every second

    api, api_sdk, worker, worker_sdk = [
        await scrape(f"{url}/metrics")
        for url in (observed.api, observed.api_sdk, observed.worker, observed.worker_sdk)
    ]

    # The SDK's own, in each process holding a client, named as Temporal's dashboard reads them.
    assert "temporal_request" in families(api_sdk)
    engine_view = families(worker_sdk)
    assert {
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_workflow_task_execution_latency",
        "temporal_activity_execution_latency",
        "temporal_sticky_cache_size",
        "temporal_worker_task_slots_available",
    } <= engine_view
    stages = {labels["stage"] for labels, _ in samples(worker_sdk, f"{STAGE_DURATION}_count")}
    assert {"contact_confirmation", "password", "profile", "verification"} <= stages
    assert "identity_confirmation" in stages

    # The business view, from the worker (the API's process shares the test's registry).
    def total(name: str, **labels: str) -> float:
        return sum(v for found, v in samples(worker, name) if labels.items() <= found.items())

    assert total("gosreg_registrations_started_total", channel="sms", origin="portal") >= 1
    for level in ("simplified", "standard", "confirmed"):
        assert total("gosreg_registrations_reached_level_total", level=level) >= 1
    assert total("gosreg_registrations_confirmed_total", method="letter") >= 1
    assert total("gosreg_letters_ordered_total") >= 1
    for agency in ("pension_fund", "mvd", "fns"):
        assert total("gosreg_agency_answer_seconds_count", agency=agency) >= 1
    assert total("gosreg_stage_gauges_refreshed_timestamp_seconds") > 0
    assert {labels["stage"] for labels, _ in samples(worker, "gosreg_registrations_running")} >= {
        "verification"
    }
    routes = {labels["route"] for labels, _ in samples(api, "gosreg_http_requests_total")}
    assert "/v1/registrations/{registration_id}/letter-code" in routes
    assert total("gosreg_step_refusals_total", code=refused.json()["code"]) >= 1

    # What the alerting rules and the dashboard query exists.
    served = families(api) | families(worker) | families(api_sdk) | engine_view
    assert queried_families() - served == set()

    # No person's data, id, session or code in anything Prometheus reads.
    scraped = {"api": api, "api sdk": api_sdk, "worker": worker, "worker sdk": worker_sdk}
    secrets = {
        "registration id": citizen.id,
        "session": citizen.session,
        "phone": citizen.phone,
        "phone digits": citizen.phone.lstrip("+"),
        "surname": PROFILE.surname,
        "name": PROFILE.name,
        "patronymic": PROFILE.patronymic or "",
        "birth place": PROFILE.birth_place,
        "snils": PROFILE.snils,
        "passport number": PROFILE.passport_number,
        "street": ADDRESS.street,
        "tracking number": tracking,
        "letter code": code,
    }
    leaks = [
        f"{what} in the {where}'s metrics"
        for where, text in scraped.items()
        for what, secret in secrets.items()
        if secret and (secret in text or json.dumps(secret).strip('"') in text)
    ]
    assert leaks == []
    assert citizen.id.startswith("reg-") and "reg-" not in "".join(scraped.values())

    await prometheus_scrapes(observed, tmp_path)


async def prometheus_scrapes(observed: Observed, tmp_path: Path) -> None:
    """A real Prometheus, configured as `gosreg stack --observability` configures it, finds
    the business and the SDK's metrics (skipped without Debian's `prometheus`)."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (Debian: apt-get install prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(observed.targets(), interval="1s"))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    )
    wanted = {
        "gosreg_registrations_confirmed_total",
        "gosreg_http_requests_total",
        "temporal_workflow_task_execution_latency_count",
        f"{STAGE_DURATION}_count",
    }
    found: set[str] = set()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while found != wanted and time.monotonic() < deadline:
                assert process.returncode is None, "prometheus exited"
                for name in wanted - found:
                    try:
                        answer = await client.get("/api/v1/query", params={"query": name})
                    except httpx.TransportError:
                        break  # still starting
                    if answer.status_code == 200 and answer.json()["data"]["result"]:
                        found.add(name)
                await asyncio.sleep(0.5)
            rules = (await client.get("/api/v1/rules")).json()["data"]["groups"]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
    assert found == wanted
    assert rules and rules[0]["name"] == "gosreg", "the alerting rules are loaded"
