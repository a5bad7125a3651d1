"""What the benchmark scripts share: a `gosreg stack` of their own, and the machine's meters.

`local_stack` starts `gosreg stack` as a child process on free loopback ports with a data
directory of its own (never the defaults, so it runs beside a developer's stack or a test run),
waits until it is up, points this process's GOSREG_* settings at it, and stops it with SIGTERM
at the end, the way Ctrl-C does.

The meters read `/proc`: CPU seconds of a process tree (utime + stime, its reaped children
included), resident memory, file sizes and the load average; `wait_for_quiet` holds a
measurement back until the machine's 1-minute load average says nobody else is busy.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops import monitoring
from ops.stack import ROOT, env_on_free_ports, free_port
from registration.webhooks import new_secret

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A short agency backoff: agency time is excluded (the simulators answer at once), so a check
# that is retried must not wait the production 10 s.
FAST_AGENCIES = {"agency_initial_backoff": "PT0.2S", "agency_max_backoff": "PT1S"}
# The stack's children, by a piece of their command line.
CHILDREN = {
    "temporal": "server start-dev",
    "simulators": "-m simulators",
    "worker": "worker.py",
    "codec": "-m codec",
    "api": "ops.cli api",
}


def say(text: str = "") -> None:
    print(text, flush=True)


# --- /proc ------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and every live descendant, plus what their reaped
    children used; 0 when the process is gone."""
    try:
        fields = _stat(pid)
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        children = _children(pid)
    except (OSError, ValueError, IndexError):
        return 0.0
    return ticks / CLOCK_TICKS + sum(cpu_seconds(child) for child in children)


def own_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` alone (all its threads, none of its children)."""
    try:
        return sum(int(value) for value in _stat(pid)[11:13]) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` (VmRSS), without its children; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    try:
        children = _children(pid)
    except OSError:
        children = []
    return rss_bytes(pid) + sum(tree_rss_bytes(child) for child in children)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def file_bytes(*paths: Path) -> int:
    return sum(path.stat().st_size for path in paths if path.exists())


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(threshold: float, patience: float) -> str:
    """Wait until the 1-minute load average is below `threshold`, at most `patience` seconds;
    what was found, for the report."""
    began = time.monotonic()
    load = load_average()
    if threshold <= 0 or load < threshold:
        return f"1-min load average {load:.2f} at the start"
    say(f"waiting for the 1-minute load average ({load:.2f}) to fall below {threshold:g}…")
    while time.monotonic() - began < patience:
        time.sleep(10)
        load = load_average()
        if load < threshold:
            waited = time.monotonic() - began
            return f"1-min load average {load:.2f} at the start (waited {waited:.0f} s)"
    return (
        f"NOT QUIET: 1-min load average still {load:.2f} after {patience:.0f} s; "
        "measured anyway, other work shared the cores"
    )


def machine() -> str:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} cores (os.cpu_count){model}, {memory:.1f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def process_cpu(pid: int) -> float:
    """This process alone (its children, such as workers it started, are measured on their
    own); any other process with its descendants."""
    return own_cpu_seconds(pid) if pid == os.getpid() else cpu_seconds(pid)


@dataclass
class CpuMeter:
    """CPU seconds of named process trees between `start` and `stop` (this process without
    its children)."""

    pids: Mapping[str, int]
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    began: float = 0.0
    seconds: float = 0.0

    def start(self) -> CpuMeter:
        self.began = time.perf_counter()
        self.before = {name: process_cpu(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> CpuMeter:
        self.seconds = time.perf_counter() - self.began
        self.used = {name: process_cpu(pid) - self.before[name] for name, pid in self.pids.items()}
        return self

    @property
    def total(self) -> float:
        return sum(self.used.values())

    def busy(self) -> float:
        """The share of all cores these processes used while measured."""
        cores = os.cpu_count() or 1
        return self.total / (self.seconds * cores) if self.seconds > 0 else 0.0


# --- the stack --------------------------------------------------------------------------------


@dataclass
class BenchStack:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    log: Path
    api_url: str
    simulators_url: str
    temporal_address: str
    webhook_port: int
    """Where the stack sends the portal's webhooks: the benchmark's portal (`benchmarks.portal`)
    listens there."""
    webhook_secret: str
    namespace: str = "registrations"

    def client_options(self) -> dict[str, Any]:
        """`benchmarks.api_load.Options` fields that point a load at this stack."""
        return {
            "api_url": self.api_url,
            "simulators_url": self.simulators_url,
            "webhook_port": self.webhook_port,
            "webhook_secret": self.webhook_secret,
        }

    @property
    def temporal_db(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    def temporal_db_bytes(self) -> int:
        """Temporal's SQLite file with its write-ahead log and shared memory, if any."""
        db = self.temporal_db
        return file_bytes(db, Path(f"{db}-wal"), Path(f"{db}-shm"))

    def pids(self) -> dict[str, int]:
        """The stack's processes by name: its children and the embedded PostgreSQL."""
        found: dict[str, int] = {}
        for child in _children(self.process.pid):
            line = command_line(child)
            for name, marker in CHILDREN.items():
                if marker in line:
                    found[name] = child
        postmaster = self.data_dir / "postgres" / "postmaster.pid"
        if postmaster.exists():
            found["postgres"] = int(postmaster.read_text().split()[0])
        return found

    def apply_settings(self) -> None:
        """Point this process's settings (`load_settings()`) at this stack."""
        for name, value in self.env.items():
            if name.startswith("GOSREG_"):
                os.environ[name] = value


@contextmanager
def local_stack(
    data_dir: Path | None = None,
    *,
    policy: Mapping[str, str] = FAST_AGENCIES,
    keep: bool = False,
    startup_timeout: float = 120.0,
) -> Iterator[BenchStack]:
    """A `gosreg stack` on free ports with its own data directory (a new temporary one unless
    given); stopped, and a temporary directory removed, at the end (unless `keep`)."""
    temporary = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="gosreg-bench-")) if data_dir is None else data_dir
    folder.mkdir(parents=True, exist_ok=True)
    webhook_port = free_port()
    extra = env_on_free_ports(folder, policy) | {
        # The benchmark's portal starts citizens by the hundred: the real portal's raised budget.
        "GOSREG_STARTS_PER_CLIENT_PER_MINUTE": "100000",
        # …and takes the webhooks itself (`benchmarks.portal`).
        "GOSREG_PORTAL_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/events",
        "GOSREG_PORTAL_WEBHOOK_SECRET": new_secret(),
    }
    env = {**os.environ, **extra}
    log = folder / "stack.log"
    seen = log.stat().st_size if log.exists() else 0  # a resumed stack's log has earlier runs
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "stack"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = BenchStack(
        process=process,
        env=extra,
        data_dir=folder,
        log=log,
        api_url=f"http://127.0.0.1:{extra['GOSREG_API_PORT']}",
        simulators_url=extra["GOSREG_SIMULATORS_URL"],
        temporal_address=extra["GOSREG_TEMPORAL_ADDRESS"],
        webhook_port=webhook_port,
        webhook_secret=extra["GOSREG_PORTAL_WEBHOOK_SECRET"],
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while b"Registration stack is up" not in log.read_bytes()[seen:]:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"the stack exited while starting:\n{tail}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the stack did not come up in {startup_timeout:.0f} s ({log})")
            time.sleep(0.3)
        say(f"stack up: API {stack.api_url}, Temporal {stack.temporal_address}, data {folder}")
        yield stack
    finally:
        stop_stack(process)
        if temporary and not keep:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Instances:
    """API and worker processes beside a stack's own, as more machines would run them."""

    api_urls: list[str]
    pids: dict[str, int]
    """By name: `api#2`, `worker#2`, … (`ratio` adds them to the `api` and `worker` columns)."""


@contextmanager
def more_instances(stack: BenchStack, count: int, timeout: float = 60.0) -> Iterator[Instances]:
    """`count` more API processes and as many workers, against the stack's Temporal and
    PostgreSQL with its settings (nothing else is shared: each has its own ports); stopped with
    SIGTERM at the end."""
    from settings import load_settings
    from store.embedded import database_url  # reads this process's settings: apply them first

    stack.apply_settings()
    url = database_url(load_settings())
    base = {**os.environ, **stack.env, "GOSREG_DATABASE_URL": url}
    found = Instances(api_urls=[], pids={})
    children: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(2, count + 2):
            ports = {name: str(free_port()) for name in ("api", "worker", "wsdk", "asdk")}
            env = base | {
                "GOSREG_API_PORT": ports["api"],
                "GOSREG_WORKER_PORT": ports["worker"],
                "GOSREG_WORKER_SDK_METRICS_PORT": ports["wsdk"],
                "GOSREG_API_SDK_METRICS_PORT": ports["asdk"],
            }
            for name, command in (
                ("worker", [sys.executable, str(ROOT / "worker.py")]),
                ("api", [sys.executable, "-m", "ops.cli", "api"]),
            ):
                with (stack.data_dir / f"{name}-{number}.log").open("ab") as output:
                    child = subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
                    )
                children.append(child)
                found.pids[f"{name}#{number}"] = child.pid
            found.api_urls.append(f"http://127.0.0.1:{ports['api']}")
            for what, port in (("API", ports["api"]), ("worker", ports["worker"])):
                _wait_ready(f"http://127.0.0.1:{port}/health/ready", f"{what} #{number}", timeout)
        if count:
            say(f"{count} more API and worker instance(s): {', '.join(found.api_urls)}")
        yield found
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def _wait_ready(url: str, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (said := monitoring.health(url, timeout=2)) != "ok":
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} is not ready after {timeout:.0f} s: {said}")
        time.sleep(0.3)


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
