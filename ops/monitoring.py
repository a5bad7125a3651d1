"""What `gosreg stack` watches: the ports its processes serve health and metrics on, the
health of its parts, and the Prometheus `--observability` starts.

Ports (loopback; each a GOSREG_* setting, these are the stack's defaults):

| port | process | what |
|---|---|---|
| 8000 (`API_PORT`) | API | `/metrics`: requests by route, refusals, limits; `/health/*` |
| 8082 (`CODEC_PORT`) | codec server | `/metrics`: decodes by caller |
| 8083 (`WORKER_PORT`) | worker | `/metrics`: the journey's business metrics; `/health/*` |
| 8084 (`WORKER_SDK_METRICS_PORT`) | worker | the Temporal SDK's exporter |
| 8085 (`API_SDK_METRICS_PORT`) | API | the Temporal SDK's exporter |
| 8086 (`TEMPORAL_METRICS_PORT`) | dev server | the Temporal server's own metrics |
| 9090 (`PROMETHEUS_PORT`) | Prometheus | with `--observability` |
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from settings import Settings

OBSERVABILITY = Path(__file__).resolve().parent / "observability"
ALERTS = OBSERVABILITY / "alerts.yml"
DASHBOARD = OBSERVABILITY / "dashboard.json"

STACK_PORTS = {
    "worker_port": 8083,
    "worker_sdk_metrics_port": 8084,
    "api_sdk_metrics_port": 8085,
    "temporal_metrics_port": 8086,
    "prometheus_port": 9090,
}
"""The stack's ports for the settings left unset (`with_stack_ports`)."""

INSTALL_PROMETHEUS = (
    "Prometheus is not installed, so the stack runs without it. On Debian or Ubuntu: "
    "`sudo apt-get install prometheus` (then stop the service it starts, `sudo systemctl "
    "disable --now prometheus`, if you only want the stack's); elsewhere put the `prometheus` "
    "binary on PATH (https://prometheus.io/download/)."
)


def variable(setting: str) -> str:
    return f"GOSREG_{setting.upper()}"


def with_stack_ports(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """`settings` with the stack's ports where they leave one unset, and the environment
    that tells the stack's children the same."""
    unset = {name: port for name, port in STACK_PORTS.items() if getattr(settings, name) is None}
    env = {variable(name): str(port) for name, port in unset.items()}
    return settings.model_copy(update=unset), env


def reachable(host: str) -> str:
    """Where to reach a server listening on `host` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


@dataclass(frozen=True)
class Target:
    job: str
    address: str
    """host:port"""


def scrape_targets(settings: Settings) -> list[Target]:
    """Every process of the stack that serves metrics (ports unset are left out)."""
    candidates = [
        ("gosreg-api", settings.api_host, settings.api_port),
        ("gosreg-api-sdk", settings.api_host, settings.api_sdk_metrics_port),
        ("gosreg-worker", settings.worker_host, settings.worker_port),
        ("gosreg-worker-sdk", settings.worker_host, settings.worker_sdk_metrics_port),
        ("gosreg-codec", settings.codec_host, settings.codec_port),
        (
            "temporal",
            settings.temporal_address.rpartition(":")[0] or "127.0.0.1",
            settings.temporal_metrics_port,
        ),
    ]
    return [
        Target(job, f"{reachable(host)}:{port}")
        for job, host, port in candidates
        if port is not None
    ]


def prometheus_config(targets: list[Target], rules: Path = ALERTS, interval: str = "5s") -> str:
    """Prometheus's configuration for `targets`, with the alerting rules in `rules` (JSON,
    which Prometheus reads as the YAML it is)."""
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": target.job, "static_configs": [{"targets": [target.address]}]}
            for target in targets
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def prometheus_command(settings: Settings, binary: str) -> list[str]:
    """Prometheus for this stack: its configuration and data under the stack's data
    directory, listening on loopback at `prometheus_port`."""
    home = settings.data_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(prometheus_config(scrape_targets(settings)))
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
        "--log.level=warn",
    ]


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def health(url: str, timeout: float = 5.0) -> str:
    """What `url` (a `/health/ready`) says: "ok", or what is not (its JSON, or why it did not
    answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:
        body = error.read()
    except (OSError, ValueError) as error:
        return f"not answering ({type(error).__name__})"
    try:
        parts = json.loads(body)
    except ValueError:
        parts = None
    if not isinstance(parts, dict):
        return "answering oddly"
    if parts.get("status") == "ok":
        return "ok"
    failing = [f"{part} {state}" for part, state in parts.items() if state != "ok"]
    return ", ".join(failing)


class HealthWatch:
    """The last health of each part; `changes` says which changed since it last looked."""

    def __init__(self, parts: dict[str, str]) -> None:
        self._urls = parts
        self._last = dict.fromkeys(parts, "ok")

    def changes(self) -> list[str]:
        said = []
        for part, url in self._urls.items():
            now = health(url)
            if now != self._last[part]:
                said.append(
                    f"{part} is healthy again" if now == "ok" else f"{part} is unhealthy: {now}"
                )
                self._last[part] = now
        return said
