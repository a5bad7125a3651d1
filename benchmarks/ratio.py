"""Throughput of the product over bare Temporal, on the same dev server in the same run.

Starts a `gosreg stack` of its own (free ports, a fresh data directory, agencies answering at
once with a short retry backoff) and measures, one after the other on the same dev server:

- bare: `benchmarks.bare_workflow`, the registration's 13 activities, 3 updates and 1 signal
  without any logic, Temporal's default data converter, its worker in a process of its own;
- bare+codec: the same with the project's data converter (pydantic + AES-GCM encryption);
- product: `benchmarks.api_load`, registrations driven through the HTTP API from start to
  `confirmed` (clerk path), every step a real API call, activity, SQL statement and HTTP call
  to the simulators.

Each is a closed loop of N registrations, C at a time (the same N and C for all three). With
`--instances K` the product runs K API processes and K workers against the one dev server and
PostgreSQL (`localstack.more_instances`), each API call going to the next API in turn; their
CPU is added to the `api` and `worker` columns.
Reported: registrations per second, the ratio product / bare (measured, and from CPU per
registration: what both reach when they saturate the cores), the CPU seconds each process
spent per registration (from /proc: the dev server, worker, API, PostgreSQL, simulators, the
bare workers, this client), which says where the difference goes, and the latencies of every
operation. With `--profile`, one more round runs with py-spy sampling the product's worker and
API and the bare workers, and their CPU is split by what it was spent on (workflow code and
sandbox, codec, payload conversion, DB driver, HTTP clients, API framework, argon2, Temporal
SDK); install py-spy outside the project's venv (`pip install --target /tmp/tools py-spy`) and
pass `--py-spy /tmp/tools/bin/py-spy`.

    python -m benchmarks.ratio --citizens 200 --concurrency 20 --rounds 2
    python -m benchmarks.ratio --citizens 100 --instances 2   # 2 API processes, 2 workers
    python -m benchmarks.ratio --citizens 200 --profile --py-spy /tmp/tools/bin/py-spy
    python -m benchmarks.ratio --read-profiles /tmp/gosreg-profile-…   # the shares, again

Waits (up to `--quiet-wait` seconds) for the 1-minute load average to fall below `--quiet`
before it starts, and says in the report if it never did.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from temporalio.client import Client

from benchmarks import api_load, bare
from benchmarks.api_load import Outcome, Recorder, say
from benchmarks.localstack import (
    BenchStack,
    CpuMeter,
    load_average,
    local_stack,
    machine,
    more_instances,
    wait_for_quiet,
)

BARE, BARE_CODEC, PRODUCT = "bare", "bare+codec", "product"
VARIANTS = (BARE, BARE_CODEC, PRODUCT)
PROCESS_ORDER = [
    "temporal",
    "worker",
    "api",
    "postgres",
    "simulators",
    "codec",
    "bare worker",
    "bare+codec worker",
    "client",
]


@dataclass(frozen=True)
class Options:
    citizens: int
    concurrency: int
    rounds: int
    warmup: int
    profile: bool
    py_spy: str
    profile_rate: int
    quiet: float
    quiet_wait: float
    data_dir: Path | None
    keep: bool
    read_profiles: Path | None
    instances: int = 1
    """API processes and workers of the product (the stack's own, and more beside it)."""


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ratio",
        description="Registrations/s through the API over bare Temporal, same server and run.",
    )
    parser.add_argument("--citizens", type=int, default=200, help="per variant (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="at a time (default 20)")
    parser.add_argument("--rounds", type=int, default=1, help="measured rounds (default 1)")
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="API processes and workers of the product (default 1); each call goes to the next",
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="unmeasured registrations per variant first (20)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="one more round, sampled with py-spy"
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--profile-rate", type=int, default=50, help="py-spy samples/s (50)")
    parser.add_argument(
        "--quiet", type=float, default=0.8, help="start below this 1-min load average (0.8)"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=1200, help="seconds to wait for quiet (1200)"
    )
    parser.add_argument("--data-dir", type=Path, help="the stack's data directory (default: new)")
    parser.add_argument("--keep", action="store_true", help="keep a new data directory")
    parser.add_argument(
        "--read-profiles", type=Path, help="only summarise the py-spy samples kept in this folder"
    )
    args = parser.parse_args(argv)
    if min(args.citizens, args.concurrency, args.rounds, args.instances) < 1 or args.warmup < 0:
        parser.error("--citizens, --concurrency and --rounds must be at least 1")
    if args.profile and not Path(args.py_spy).exists() and not shutil.which(args.py_spy):
        parser.error(f"--profile needs py-spy: {args.py_spy} not found (see --help)")
    return Options(**vars(args))


# --- one measurement ----------------------------------------------------------------------------


@dataclass
class Measured:
    variant: str
    outcome: Outcome
    cpu: CpuMeter
    recorder: Recorder
    profiles: dict[str, Counter[str]] = field(default_factory=dict)
    load: float = 0.0

    @property
    def rate(self) -> float:
        seconds = self.outcome.seconds
        return self.outcome.confirmed / seconds if seconds > 0 else 0.0

    def per_registration(self, process: str) -> float:
        """CPU-s per registration of `process`, its further instances (`api#2`) included."""
        used = sum(
            spent
            for name, spent in self.cpu.used.items()
            if name == process or name.startswith(f"{process}#")
        )
        return used / max(self.outcome.confirmed, 1)


@dataclass
class Bench:
    """The stack, the bare clients and workers, and the product's API session."""

    options: Options
    stack: BenchStack
    bare_clients: dict[str, tuple[Client, str]]
    pids: dict[str, int]
    session: api_load.Session
    session_options: api_load.Options
    profile_dir: Path

    def product_options(self, citizens: int) -> api_load.Options:
        return replace(self.session_options, citizens=citizens)

    async def run(self, variant: str, citizens: int, sampled: Mapping[str, int]) -> Measured:
        recorder = Recorder()
        load = load_average()
        with sampling(self.options, sampled, self.profile_dir, variant) as profiles:
            meter = CpuMeter(self.pids).start()
            if variant == PRODUCT:
                outcome = await self.session.run(self.product_options(citizens), recorder)
            else:
                client, queue = self.bare_clients[variant]
                outcome = await bare.drive(
                    client, queue, citizens, self.options.concurrency, recorder
                )
            meter.stop()
        return Measured(variant, outcome, meter, recorder, profiles.result(), load)


# --- py-spy ------------------------------------------------------------------------------------


# What a sample was spent on. Samples of threads that merely wait (an idle selector, a thread
# pool's queue) are set apart; of the rest, the first "anywhere" rule whose marker is somewhere
# in the stack wins, else the innermost frame that matches an "innermost" rule.
WAITING = "(waiting: idle selector or thread pool; excluded)"
WAITS = ("EpollSelector.select", "Condition.wait", "_worker (concurrent/futures/thread.py")
ANYWHERE = [
    ("compiling workflow source (no .pyc)", ("source_to_code",)),
    ("workflow sandbox (re-import per run)", ("workflow_sandbox/_importer.py",)),
    ("argon2 password hash", ("argon2/",)),
    ("codec (AES-GCM)", ("codec/encryption.py", "cryptography/")),
]
INNERMOST = [
    (
        "payload conversion (pydantic, JSON, protobuf)",
        ("temporalio/converter", "temporalio/contrib/pydantic", "pydantic", "json/", "protobuf"),
    ),
    ("workflow code (workflows/, registration/)", ("workflows/", "registration/")),
    (
        "Temporal SDK workflow runtime",
        ("temporalio/worker/_workflow", "temporalio/workflow", "workflow_sandbox/"),
    ),
    ("PostgreSQL client (SQLAlchemy, psycopg)", ("sqlalchemy/", "psycopg", "store/")),
    ("HTTP to simulators (httpx, activities/)", ("httpx/", "httpcore/", "h11/", "activities/")),
    (
        "API framework (uvicorn, FastAPI, starlette)",
        ("uvicorn/", "fastapi/", "starlette/", "anyio/", "api/", "service/"),
    ),
    ("Temporal SDK client, activities, bridge", ("temporalio/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/",)),
]
NATIVE = "native threads (no Python frame)"
OTHER = "other"


def categorize(stack: str) -> str:
    frames = stack.split(";")
    if not stack.strip():
        return NATIVE
    if any(wait in frames[-1] for wait in WAITS):
        return WAITING
    for name, markers in ANYWHERE:
        if any(marker in stack for marker in markers):
            return name
    for frame in reversed(frames):
        for name, markers in INNERMOST:
            if any(marker in frame for marker in markers):
                return name
    return OTHER


def read_profile(path: Path) -> Counter[str]:
    """Samples by category from py-spy's raw (collapsed stacks) output."""
    found: Counter[str] = Counter()
    if not path.exists():
        return found
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            found[categorize(stack)] += int(count)
    return found


class Profiles:
    def __init__(self) -> None:
        self.files: dict[str, Path] = {}

    def result(self) -> dict[str, Counter[str]]:
        return {name: read_profile(path) for name, path in self.files.items()}


@contextmanager
def sampling(
    options: Options, targets: Mapping[str, int], folder: Path, variant: str
) -> Iterator[Profiles]:
    """py-spy on each target process (name → pid) while the block runs."""
    profiles = Profiles()
    with ExitStack() as stack:
        for name, pid in targets.items():
            output = folder / f"{variant}-{name.replace(' ', '_')}.txt"
            process = subprocess.Popen(
                [
                    options.py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(options.profile_rate),
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--output",
                    str(output),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(stop_sampler, process)
            profiles.files[name] = output
        yield profiles


def stop_sampler(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- the report --------------------------------------------------------------------------------


def cpu_table(results: list[Measured]) -> None:
    processes = [p for p in PROCESS_ORDER if any(r.cpu.used.get(p, 0) >= 0.005 for r in results)]
    head = "  ".join(f"{p:>10}" for p in processes)
    say(f"{'CPU s per registration':<24}  {head}  {'total':>8}  {'busy':>5}  {'load':>5}")
    for result in results:
        cells = "  ".join(f"{result.per_registration(p):>10.3f}" for p in processes)
        total = sum(result.per_registration(p) for p in processes)
        say(
            f"{result.variant:<24}  {cells}  {total:>8.3f}  {result.cpu.busy():>5.0%}  "
            f"{result.load:>5.2f}"
        )
    say()


def rate_table(results: list[Measured]) -> None:
    say(f"{'variant':<12}  {'done':>9}  {'seconds':>8}  {'per s':>7}")
    for result in results:
        outcome = result.outcome
        done = f"{outcome.confirmed}/{outcome.confirmed + sum(result.recorder.failures.values())}"
        say(f"{result.variant:<12}  {done:>9}  {outcome.seconds:>8.1f}  {result.rate:>7.2f}")
        for reason, count in result.recorder.failures.most_common(5):
            say(f"    failed ×{count}: {reason}")
    by = {r.variant: r for r in results}
    product = by.get(PRODUCT)
    for floor in (BARE, BARE_CODEC):
        if product and floor in by and by[floor].rate > 0:
            say(
                f"ratio product / {floor}: {product.rate / by[floor].rate:.2f} measured; "
                f"{stack_cpu(by[floor]) / stack_cpu(product):.2f} from CPU per registration "
                "(the ratio both reach when they saturate the cores; load generator excluded)"
            )
    say()


def stack_cpu(result: Measured) -> float:
    """CPU seconds per registration of everything but the load generator."""
    return sum(result.per_registration(p) for p in PROCESS_ORDER if p != "client") or 1e-9


def breakdown(results: list[Measured]) -> None:
    """Where the product's extra CPU per registration goes, process by process."""
    by = {r.variant: r for r in results}
    if not {BARE, BARE_CODEC, PRODUCT} <= set(by):
        return
    floor, coded, product = by[BARE], by[BARE_CODEC], by[PRODUCT]
    rows = [
        (
            "Temporal dev server",
            product.per_registration("temporal"),
            floor.per_registration("temporal"),
        ),
        ("worker", product.per_registration("worker"), floor.per_registration("bare worker")),
        (
            "  of which the codec (bare+codec − bare worker)",
            coded.per_registration("bare+codec worker") - floor.per_registration("bare worker"),
            0.0,
        ),
        ("API", product.per_registration("api"), 0.0),
        ("PostgreSQL", product.per_registration("postgres"), 0.0),
        ("simulators (SMS gateway, agencies)", product.per_registration("simulators"), 0.0),
        (
            "client (load generator)",
            product.per_registration("client"),
            floor.per_registration("client"),
        ),
    ]
    title = "where the CPU goes (s per registration)"
    say(f"{title:<50}  {'product':>8}  {'bare':>8}  {'extra':>8}")
    for name, mine, theirs in rows:
        say(f"{name:<50}  {mine:>8.3f}  {theirs:>8.3f}  {mine - theirs:>8.3f}")
    say()


def shares(title: str, samples: Counter[str], per_registration: float | None = None) -> None:
    """Each category's share of the working samples (and of the CPU per registration)."""
    working = sum(count for name, count in samples.items() if name != WAITING)
    if not working:
        return
    say(f"{title}: {working} working samples, {samples[WAITING]} waiting")
    for name, count in samples.most_common():
        if name == WAITING:
            continue
        cpu = f"  {count / working * per_registration:.3f} s" if per_registration else ""
        say(f"  {count / working:>6.1%}{cpu}  {name}")
    say()


def profile_table(results: list[Measured]) -> None:
    for result in results:
        for process, samples in result.profiles.items():
            per = result.per_registration(process)
            shares(
                f"py-spy, {result.variant}, {process} ({per:.3f} CPU s per registration)",
                samples,
                per,
            )


def report(options: Options, quiet: str, rounds: list[list[Measured]]) -> None:
    say()
    say("=== gosreg throughput ratio: product through the API / bare Temporal ===")
    say(f"machine: {machine()}")
    say(f"load: {quiet}")
    say(
        f"run: {options.citizens} registrations per variant and round, concurrency "
        f"{options.concurrency}, {options.warmup} warm-up registrations per variant first, "
        f"{options.instances} API process(es) and worker(s) for the product"
    )
    for number, results in enumerate(rounds, start=1):
        label = "profiled round (py-spy attached)" if results[0].profiles else f"round {number}"
        say()
        say(f"--- {label} ---")
        rate_table(results)
        cpu_table(results)
        breakdown(results)
        profile_table(results)
        for result in results:
            if result.variant == PRODUCT:
                api_load.table(
                    "product endpoint", result.recorder.latencies, api_load.ENDPOINT_ORDER
                )
                api_load.table("product phase", result.recorder.phases, api_load.PHASE_ORDER)
            else:
                api_load.table(
                    f"{result.variant} operation", result.recorder.latencies, bare.OPERATIONS
                )


# --- the run -----------------------------------------------------------------------------------


async def measure(options: Options, stack: BenchStack, profile_dir: Path) -> list[list[Measured]]:
    stack.apply_settings()
    pids = stack.pids()
    pids["client"] = os.getpid()
    namespace, address = stack.namespace, stack.temporal_address
    queues = {
        variant: f"{variant.replace('+', '-')}-{uuid.uuid4().hex[:8]}"
        for variant in (BARE, BARE_CODEC)
    }
    with ExitStack() as workers:
        clients: dict[str, tuple[Client, str]] = {}
        for variant, queue in queues.items():
            codec = variant == BARE_CODEC
            pids[f"{variant} worker"] = workers.enter_context(
                bare.bare_worker(address, namespace, queue, codec)
            )
            clients[variant] = (await bare.connect(address, namespace, codec), queue)
        more = workers.enter_context(more_instances(stack, options.instances - 1))
        pids.update(more.pids)
        product = api_load.Options(
            citizens=options.citizens,
            concurrency=options.concurrency,
            more_api_urls=tuple(more.api_urls),
            **stack.client_options(),
        )
        async with api_load.session(product) as session:
            bench = Bench(options, stack, clients, pids, session, product, profile_dir)
            if options.warmup:
                say(f"warm-up: {options.warmup} registrations per variant")
                for variant in VARIANTS:
                    await bench.run(variant, options.warmup, {})
            rounds: list[list[Measured]] = []
            for number in range(options.rounds):
                results = []
                for variant in VARIANTS:
                    say(f"round {number + 1}: {variant}, {options.citizens} registrations…")
                    results.append(await bench.run(variant, options.citizens, {}))
                    say(f"  {results[-1].rate:.2f} /s")
                rounds.append(results)
            if options.profile:
                sampled = {
                    BARE: {"bare worker": pids["bare worker"]},
                    BARE_CODEC: {"bare+codec worker": pids["bare+codec worker"]},
                    PRODUCT: {"worker": pids["worker"], "api": pids["api"]},
                }
                results = []
                for variant in VARIANTS:
                    say(f"profiled round: {variant}…")
                    results.append(await bench.run(variant, options.citizens, sampled[variant]))
                rounds.append(results)
    return rounds


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    if options.read_profiles:
        for path in sorted(options.read_profiles.glob("*.txt")):
            shares(f"py-spy {path.stem}", read_profile(path))
        return
    quiet = wait_for_quiet(options.quiet, options.quiet_wait)
    say(quiet)
    profile_dir = Path(tempfile.mkdtemp(prefix="gosreg-profile-"))
    try:
        with local_stack(options.data_dir, keep=options.keep) as stack:
            rounds = asyncio.run(measure(options, stack, profile_dir))
    except KeyboardInterrupt:
        sys.exit(130)
    report(options, quiet, rounds)
    if options.profile:
        say(f"py-spy's raw samples (collapsed stacks): {profile_dir}")


if __name__ == "__main__":
    main()
