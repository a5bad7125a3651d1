"""Parked scale: what N registrations waiting for weeks cost, and whether a new one notices.

Starts a `gosreg stack` of its own (or resumes one with `--data-dir`), then for each level N
(e.g. 0, 1000, 10000) parks registrations until N are waiting and measures:

- Temporal's SQLite file (with its WAL) and its growth per parked registration;
- resident memory of the worker (the workflow cache: at most 1000 workflows by default) and
  of the Temporal dev server;
- the idle cost of waiting: CPU used by the stack's processes over `--idle-seconds` with
  nothing but the parked registrations (their timers are hours and days away);
- a new registration while they wait: `--probe` citizens driven start → `confirmed` through
  the API (`benchmarks.api_load`, clerk path), one at a time, with per-step latencies.

Parked registrations are real product workflows with real activities, store rows and search
attributes, started through the service layer (`service.registrations.Registrations`,
in-process against the stack's Temporal and PostgreSQL). Every `--letter-every`-th one waits
for its registered letter's code (30 days, tracking refresh every 12 h, reminder at day 14);
the others wait for their profile (no deadline). Two shortcuts keep parking affordable, and
neither changes what is parked: the SMS code is derived with the stack's code secret (as the
gateway's message would show it) instead of read from the outbox, and the password's argon2
hash is computed once and staged for each registration (hashing is 0.25 CPU-s on purpose; it
is measured by `benchmarks.ratio`).

    python -m benchmarks.parked --levels 0,1000
    python -m benchmarks.parked --levels 0,1000,10000 --data-dir /tmp/parked --keep

With `--data-dir` an existing stack's data is reused and only the missing registrations are
parked, so a level can be reached over several runs. `--max-minutes` bounds parking: a level
not reached in time is reported as such and the run stops there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from benchmarks import api_load
from benchmarks.api_load import ADDRESS, PASSWORD_TEXT, Person, Recorder, new_people, say
from benchmarks.localstack import (
    BenchStack,
    CpuMeter,
    load_average,
    local_stack,
    machine,
    rss_bytes,
    tree_rss_bytes,
    wait_for_quiet,
)
from registration.address import PostalAddress
from registration.codes import Purpose, derive_code
from registration.journey import ConfirmationMethod, Stage
from registration.messages import PasswordSet, StepDone
from service.registrations import Registrations
from simulators.people import verifiable_profile

RUNNING = 'WorkflowType = "Registration" AND ExecutionStatus = "Running"'
MiB = 2**20


@dataclass(frozen=True)
class Options:
    levels: list[int]
    letter_every: int
    concurrency: int
    probe: int
    idle_seconds: float
    settle: float
    max_minutes: float
    quiet: float
    quiet_wait: float
    data_dir: Path | None
    keep: bool


def parse_levels(text: str) -> list[int]:
    levels = sorted({int(part) for part in text.split(",") if part.strip()})
    if not levels or levels[0] < 0:
        raise argparse.ArgumentTypeError("levels are counts ≥ 0, e.g. 0,1000,10000")
    return levels


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.parked",
        description="Park N registrations in long waits; measure memory, storage and a new one.",
    )
    parser.add_argument("--levels", type=parse_levels, default=[0, 1000], help="e.g. 0,1000")
    parser.add_argument(
        "--letter-every", type=int, default=2, help="every k-th waits for a letter (2: half)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="parked at a time (20)")
    parser.add_argument("--probe", type=int, default=10, help="new registrations per level (10)")
    parser.add_argument("--idle-seconds", type=float, default=60, help="idle CPU window (60)")
    parser.add_argument(
        "--settle", type=float, default=30, help="seconds of rest before the idle window (30)"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=20, help="stop parking after this long (20)"
    )
    parser.add_argument("--quiet", type=float, default=0.8, help="start below this load (0.8)")
    parser.add_argument("--quiet-wait", type=float, default=1200, help="seconds to wait (1200)")
    parser.add_argument("--data-dir", type=Path, help="the stack's data directory (default: new)")
    parser.add_argument("--keep", action="store_true", help="keep a new data directory")
    args = parser.parse_args(argv)
    if args.letter_every < 1 or args.concurrency < 1 or args.probe < 1:
        parser.error("--letter-every, --concurrency and --probe must be at least 1")
    return Options(**vars(args))


# --- parking ------------------------------------------------------------------------------------


class Parker:
    """Walks registrations to a long wait through the service layer."""

    def __init__(self, registrations: Registrations, engine: AsyncEngine, secret: bytes) -> None:
        from store.passwords import hash_password

        self.registrations, self.engine, self.secret = registrations, engine, secret
        self.password_hash = hash_password(PASSWORD_TEXT)
        self.address = PostalAddress.model_validate(ADDRESS)

    async def park(self, person: Person, letter: bool) -> None:
        from store import repository

        service = self.registrations
        started = await service.start("Иванова", "Мария", phone=person.phone)
        rid = started.registration_id
        code = derive_code(self.secret, rid, Purpose.SMS, 1)  # what the SMS says
        verdict = await service.submit_contact_code(rid, code)
        if not verdict.accepted:
            raise RuntimeError(f"contact code refused: {verdict}")
        await repository.stage_password(self.engine, rid, self.password_hash, "parked")
        done = await service.client.get_workflow_handle(rid).execute_update(
            "password_set", PasswordSet(staged_id="parked"), result_type=StepDone
        )
        if done.stage is not Stage.PROFILE or not letter:
            return
        await service.submit_profile(
            rid, verifiable_profile(person.snils_body, person.passport_number)
        )
        for _ in range(600):
            stage = (await service.state(rid)).stage
            if stage is Stage.IDENTITY:
                break
            if stage is not Stage.VERIFICATION:
                raise RuntimeError(f"verification ended at {stage}")
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError("verification took over 2 minutes")
        await service.choose_method(rid, ConfirmationMethod.LETTER, self.address)


@dataclass
class Parking:
    parked: int = 0
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    cpu: CpuMeter | None = None
    """What parking cost each process of the stack (and this one, which drives it)."""


async def park_until(
    parker: Parker,
    stack: BenchStack,
    target: int,
    options: Options,
    people: list[Person],
    deadline: float,
) -> Parking:
    """Park registrations until `target` wait (counted in Temporal), or `deadline` passes."""
    have = await parked(parker.registrations.client)
    missing = max(target - have, 0)
    result = Parking()
    if not missing:
        return result
    gate = asyncio.Semaphore(options.concurrency)
    began = time.monotonic()
    result.cpu = CpuMeter({**stack.pids(), "parker": os.getpid()}).start()

    async def one(number: int) -> None:
        async with gate:
            if time.monotonic() > deadline:
                return
            person = people.pop()
            try:
                async with asyncio.timeout(300):
                    await parker.park(person, letter=(have + number) % options.letter_every == 0)
                result.parked += 1
            except Exception as error:  # counted and reported; the count comes from Temporal
                result.failures[f"{type(error).__name__}: {error}"[:160]] += 1
            done = result.parked + sum(result.failures.values())
            if done % 500 == 0:
                rate = result.parked / (time.monotonic() - began)
                say(f"  parked {have + result.parked}/{target} ({rate:.1f}/s)")

    await asyncio.gather(*(one(number) for number in range(missing)))
    result.cpu.stop()
    result.seconds = time.monotonic() - began
    return result


async def running(client: Client, stage: Stage) -> int:
    query = f'{RUNNING} AND RegistrationStage = "{stage.value}"'
    return (await client.count_workflows(query)).count


async def parked(client: Client) -> int:
    """Registrations waiting for a profile or for a letter's code."""
    return await running(client, Stage.PROFILE) + await running(client, Stage.IDENTITY)


# --- one level ---------------------------------------------------------------------------------


@dataclass
class Level:
    target: int
    parked: int = 0
    at_profile: int = 0
    at_letter: int = 0
    parking: Parking | None = None
    db_bytes: int = 0
    """Temporal's database once parked, before the probe."""
    db_after_probe: int = 0
    worker_rss: int = 0
    temporal_rss: int = 0
    idle_cpu: dict[str, float] = field(default_factory=dict)
    probe: Recorder = field(default_factory=Recorder)
    probe_confirmed: int = 0
    load: float = 0.0
    """The 1-minute load average when the probe started."""


async def measure_level(
    stack: BenchStack, client: Client, session: api_load.Session, level: Level, options: Options
) -> None:
    pids = stack.pids()
    await asyncio.sleep(options.settle)  # let the last parking's writes and tasks finish
    level.at_profile = await running(client, Stage.PROFILE)
    level.at_letter = await running(client, Stage.IDENTITY)
    level.parked = level.at_profile + level.at_letter
    idle = CpuMeter({name: pids[name] for name in ("temporal", "worker", "api", "postgres")})
    idle.start()
    await asyncio.sleep(options.idle_seconds)
    idle.stop()
    level.idle_cpu = {name: used / idle.seconds for name, used in idle.used.items()}
    level.db_bytes = stack.temporal_db_bytes()
    level.worker_rss = rss_bytes(pids["worker"])
    level.temporal_rss = tree_rss_bytes(pids["temporal"])
    probe = api_load.Options(
        citizens=options.probe,
        concurrency=1,
        **stack.client_options(),
        run_timeout=max(600.0, options.probe * 60.0),
    )
    level.load = load_average()
    outcome = await session.run(probe, level.probe)
    level.probe_confirmed = outcome.confirmed
    level.db_after_probe = stack.temporal_db_bytes()
    level.worker_rss = max(level.worker_rss, rss_bytes(pids["worker"]))


# --- the report --------------------------------------------------------------------------------


def p(recorder: Recorder, name: str, share: int) -> str:
    values = sorted(recorder.phases.get(name) or recorder.latencies.get(name) or [])
    return f"{api_load.percentile(values, share) * 1000:.0f}" if values else "-"


def report(options: Options, quiet: str, levels: list[Level]) -> None:
    say()
    say("=== gosreg parked scale ===")
    say(f"machine: {machine()}")
    say(f"load: {quiet}")
    say(
        f"parked: every {options.letter_every}th waits for a letter, the others for a profile; "
        f"{options.concurrency} parked at a time; probe: {options.probe} new registrations "
        f"start → confirmed through the API, one at a time; idle window {options.idle_seconds:g} s "
        f"after {options.settle:g} s of rest"
    )
    say()
    head = (
        f"{'parked':>7} {'profile':>7} {'letter':>7} {'park/s':>6} {'db MiB':>7} "
        f"{'KiB/reg':>7} {'wkr MiB':>7} {'tmp MiB':>7} {'idle CPU % (tmp/wkr/api/pg)':>27} "
        f"{'new p50 ms':>10} {'new p95 ms':>10} {'ok':>5} {'load':>5}"
    )
    say(head)
    end = api_load.END_TO_END
    before: Level | None = None
    for level in levels:
        parking = level.parking
        rate = f"{parking.parked / parking.seconds:.1f}" if parking and parking.seconds else "-"
        # Growth per registration parked since the level before (its probe excluded).
        added = level.parked - (before.parked if before else 0)
        grown = level.db_bytes - (before.db_after_probe if before else level.db_bytes)
        per = f"{grown / added / 1024:.1f}" if before and added > 0 else "-"
        before = level
        idle = "/".join(
            f"{level.idle_cpu.get(n, 0) * 100:.1f}"
            for n in ("temporal", "worker", "api", "postgres")
        )
        say(
            f"{level.parked:>7} {level.at_profile:>7} {level.at_letter:>7} {rate:>6} "
            f"{level.db_bytes / MiB:>7.1f} {per:>7} {level.worker_rss / MiB:>7.0f} "
            f"{level.temporal_rss / MiB:>7.0f} {idle:>27} {p(level.probe, end, 50):>10} "
            f"{p(level.probe, end, 95):>10} {level.probe_confirmed:>2}/{options.probe:<2} "
            f"{level.load:>5.2f}"
        )
    say()
    say(
        "parked: waiting registrations (counted in Temporal by stage); park/s: parking rate; "
        "db: temporal.sqlite + WAL before the probe; KiB/reg: its growth per registration "
        "parked since the level before; wkr/tmp: resident memory of the worker and the dev "
        "server; idle CPU: % of one core over the idle window; new: a new registration start → "
        "confirmed; load: 1-min load average when the probe started"
    )
    say()
    for level in levels:
        cpu = level.parking.cpu if level.parking else None
        if cpu is None or not level.parking or not level.parking.parked:
            continue
        count = level.parking.parked
        cells = ", ".join(
            f"{name} {used / count:.3f}" for name, used in cpu.used.items() if used >= 0.005
        )
        say(f"parking to {level.target}: CPU s per parked registration: {cells}")
    say()
    for level in levels:
        say(f"--- new registrations with {level.parked} parked ---")
        api_load.table("endpoint", level.probe.latencies, api_load.ENDPOINT_ORDER)
        api_load.table("phase", level.probe.phases, api_load.PHASE_ORDER)
        for reason, count in level.probe.failures.most_common():
            say(f"  failed ×{count}: {reason}")
        if level.parking and level.parking.failures:
            for reason, count in level.parking.failures.most_common(5):
                say(f"  parking failed ×{count}: {reason}")


# --- the run -----------------------------------------------------------------------------------


async def measure(options: Options, stack: BenchStack) -> list[Level]:
    from service.temporal import connect
    from settings import load_settings
    from store.db import make_engine
    from store.embedded import database_url, stop_embedded_postgres

    stack.apply_settings()
    settings = load_settings()
    client = await connect(settings)
    engine = make_engine(await asyncio.to_thread(database_url, settings))
    registrations = Registrations(
        client,
        engine,
        task_queue=settings.temporal_task_queue,
        code_secret=settings.code_secret_bytes,
        policy=settings.policy,
    )
    parker = Parker(registrations, engine, settings.code_secret_bytes)
    people = new_people(max(options.levels) + options.concurrency)
    deadline = time.monotonic() + options.max_minutes * 60
    levels: list[Level] = []
    probe = api_load.Options(**stack.client_options())
    try:
        async with api_load.session(probe) as session:
            # Warm up the API, worker and store once, unmeasured.
            await session.run(replace(probe, citizens=2, concurrency=1), Recorder())
            for target in options.levels:
                level = Level(target)
                say(f"level {target}: parking…")
                level.parking = await park_until(parker, stack, target, options, people, deadline)
                say(f"level {target}: measuring…")
                await measure_level(stack, client, session, level, options)
                levels.append(level)
                if level.parked < target:
                    say(f"level {target} not reached in {options.max_minutes:g} min: stopping")
                    break
    finally:
        await engine.dispose()
        if settings.database_url is None:
            await asyncio.to_thread(stop_embedded_postgres, settings.data_dir / "postgres")
    return levels


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    quiet = wait_for_quiet(options.quiet, options.quiet_wait)
    say(quiet)
    try:
        with local_stack(options.data_dir, keep=options.keep) as stack:
            levels = asyncio.run(measure(options, stack))
    except KeyboardInterrupt:
        sys.exit(130)
    report(options, quiet, levels)


if __name__ == "__main__":
    main()
