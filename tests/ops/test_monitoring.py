"""What `gosreg stack` watches: its ports, the Prometheus configuration it writes, the shipped
alerting rules (checked by promtool when installed) and dashboard, and how it reports a part
that is unhealthy or gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

import api.metrics  # noqa: F401 - registers the API's request metrics
import metrics.journey  # noqa: F401 - registers the business metrics
from metrics.exposition import text
from metrics.sdk import STAGE_DURATION
from ops import monitoring
from ops.stack import Stack, wait_for_port
from serving import ServerThread
from settings import Settings
from tests.scraping import families, queried_families

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it",
)


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@needs_promtool
def test_alerting_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", str(monitoring.ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@needs_promtool
def test_alerting_rules_fire_as_their_unit_tests_expect() -> None:
    tested = promtool("test", "rules", "alerts_test.yml", cwd=monitoring.OBSERVABILITY)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_unset_ports_get_the_stacks_and_set_ones_stay() -> None:
    settings, env = monitoring.with_stack_ports(Settings(worker_port=18083))
    assert settings.worker_port == 18083 and "GOSREG_WORKER_PORT" not in env
    assert settings.api_sdk_metrics_port == 8085
    assert env["GOSREG_API_SDK_METRICS_PORT"] == "8085"
    assert env["GOSREG_PROMETHEUS_PORT"] == "9090"


def test_nothing_is_exported_unless_a_port_is_configured() -> None:
    unset = ("worker_port", "worker_sdk_metrics_port", "api_sdk_metrics_port")
    assert all(Settings.model_fields[name].default is None for name in unset)
    settings = Settings(worker_port=None, worker_sdk_metrics_port=None, api_sdk_metrics_port=None)
    jobs = {target.job for target in monitoring.scrape_targets(settings)}
    assert jobs == {"gosreg-api", "gosreg-codec"}, "their own HTTP ports, which they bind anyway"


def test_the_scrape_config_covers_every_process_of_the_stack(tmp_path: Path) -> None:
    settings, _ = monitoring.with_stack_ports(Settings(data_dir=tmp_path, api_host="0.0.0.0"))
    command = monitoring.prometheus_command(settings, "prometheus")
    config = json.loads((tmp_path / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in config["scrape_configs"]
    }
    assert targets == {
        "gosreg-api": "127.0.0.1:8000",
        "gosreg-api-sdk": "127.0.0.1:8085",
        "gosreg-worker": "127.0.0.1:8083",
        "gosreg-worker-sdk": "127.0.0.1:8084",
        "gosreg-codec": "127.0.0.1:8082",
        "temporal": "127.0.0.1:8086",
    }
    assert config["rule_files"] == [str(monitoring.ALERTS)]
    assert f"--storage.tsdb.path={tmp_path / 'prometheus' / 'data'}" in command
    assert "--web.listen-address=127.0.0.1:9090" in command
    if PROMTOOL is not None:
        checked = promtool("check", "config", str(tmp_path / "prometheus" / "prometheus.yml"))
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_queries_only_metrics_we_export() -> None:
    dashboard = json.loads(monitoring.DASHBOARD.read_text())
    assert dashboard["uid"] == "gosreg-business" and dashboard["panels"]
    ours = families(text().decode()) | {STAGE_DURATION}
    queried = queried_families()
    assert {name for name in queried if name.startswith("gosreg_")} <= ours
    # The SDK's are checked against its exporter on a running worker (tests/integration).
    assert "temporal_workflow_task_schedule_to_start_latency" in queried


def test_a_child_that_exits_while_starting_is_reported_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    gone.wait()
    with pytest.raises(SystemExit, match="The worker exited with code 3 while starting"):
        wait_for_port("127.0.0.1", 1, "The worker", timeout=30, process=gone)


@pytest.fixture
def flaky() -> Iterator[tuple[str, dict[str, bool]]]:
    """A readiness probe whose answer the test sets."""
    state = {"ready": True}
    app = FastAPI()

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        if state["ready"]:
            return JSONResponse({"status": "ok", "temporal": "ok"})
        return JSONResponse({"status": "unavailable", "temporal": "unreachable"}, 503)

    with ServerThread(app, name="probe") as server:
        yield f"{server.url}/health/ready", state


def test_the_stack_says_when_a_part_becomes_unhealthy_and_when_it_recovers(
    flaky: tuple[str, dict[str, bool]],
) -> None:
    url, state = flaky
    watch = monitoring.HealthWatch({"The worker": url, "The API": "http://127.0.0.1:1/ready"})
    assert watch.changes() == ["The API is unhealthy: not answering (URLError)"]
    state["ready"] = False
    assert watch.changes() == ["The worker is unhealthy: status unavailable, temporal unreachable"]
    assert watch.changes() == [], "said once"
    state["ready"] = True
    assert watch.changes() == ["The worker is healthy again"]


def test_a_stack_waits_for_its_workers_readiness_and_says_why_not(
    flaky: tuple[str, dict[str, bool]], tmp_path: Path
) -> None:
    url, state = flaky
    state["ready"] = False
    stack = Stack(Settings(data_dir=tmp_path), env={})
    stack.spawn("worker", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(SystemExit, match="not ready after 1 s: status unavailable"):
            stack.wait_until_ready("The worker", url, "worker", timeout=1)
    finally:
        stack.kill("worker")


def test_without_prometheus_the_stack_says_how_to_install_it_and_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(monitoring, "prometheus_binary", lambda: None)
    stack = Stack(Settings(data_dir=tmp_path), env={}, observability=True)
    stack.start_prometheus()
    assert "apt-get install prometheus" in capsys.readouterr().out
    assert stack.children == [], "nothing started"
