"""Drive bare Temporal workflows (`benchmarks.bare_workflow`): the floor the product is
measured against by `benchmarks.ratio`.

A closed loop like `benchmarks.api_load`: N workflows, C at a time; each is started, gets the
three updates and the signal back to back, and is waited for. The worker runs in a process of
its own (`--serve-worker`, started and stopped by the driver), as the product's worker does,
on a task queue of its own. With `--codec`, the client and the worker use the project's data
converter (pydantic + AES-GCM encryption of every payload, keys from GOSREG_DATA_DIR) instead
of Temporal's default converter.

Standalone, against a Temporal dev server on loopback (`temporal server start-dev --port 7299
--namespace registrations`, or the one of a `gosreg stack`):

    python -m benchmarks.bare --temporal-address 127.0.0.1:7299 --citizens 200 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from benchmarks.api_load import Outcome, Recorder, is_loopback, say, since, table
from benchmarks.bare_workflow import BareRegistration, bare_step
from service.temporal import exit_without_finalization

START = "start workflow"
CODE = "update submit_contact_code"
PASSWORD = "update password_set"
PROFILE = "update submit_profile"
SIGNAL = "signal clerk_confirmation"
RESULT = "result (signal sent → completed)"
OPERATIONS = [START, CODE, PASSWORD, PROFILE, SIGNAL, RESULT]
END_TO_END = "end to end (start → completed)"
READY = "bare worker polling"
T = TypeVar("T")


def converter(codec: bool) -> DataConverter:
    if not codec:
        return DataConverter.default
    # Imported here: the keyring comes from the settings (GOSREG_DATA_DIR), only with --codec.
    from codec import data_converter
    from settings import load_settings

    return data_converter(load_settings().keyring)


async def connect(address: str, namespace: str, codec: bool) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=converter(codec))


# --- the worker -------------------------------------------------------------------------------


async def serve_worker(address: str, namespace: str, task_queue: str, codec: bool) -> None:
    """Run the bare worker until SIGTERM or SIGINT; say READY once it polls."""
    client = await connect(address, namespace, codec)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client, task_queue=task_queue, workflows=[BareRegistration], activities=[bare_step]
    ):
        say(READY)
        await stop.wait()


@contextmanager
def bare_worker(
    address: str, namespace: str, task_queue: str, codec: bool, timeout: float = 60.0
) -> Iterator[int]:
    """The bare worker in a process of its own; its pid. Stopped with SIGTERM at the end."""
    args = [
        sys.executable,
        "-m",
        "benchmarks.bare",
        "--serve-worker",
        "--temporal-address",
        address,
        "--namespace",
        namespace,
        "--task-queue",
        task_queue,
    ]
    process = subprocess.Popen(
        [*args, "--codec"] if codec else args,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while READY.encode() not in line:
            line = process.stdout.readline()
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bare worker did not start")
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the client -------------------------------------------------------------------------------


async def timed(recorder: Recorder, operation: str, call: Awaitable[T]) -> T:
    started = time.perf_counter()
    result = await call
    recorder.latencies[operation].append(since(started))
    return result


async def one_registration(client: Client, task_queue: str, recorder: Recorder) -> float:
    """One bare workflow from start to completed; the seconds it took."""
    began = time.perf_counter()
    handle = await timed(
        recorder,
        START,
        client.start_workflow(
            BareRegistration.run, "reg", id=f"bare-{uuid.uuid4()}", task_queue=task_queue
        ),
    )
    for operation, update, arg in (
        (CODE, "submit_contact_code", "1"),
        (PASSWORD, "password_set", "set"),
        (PROFILE, "submit_profile", "p"),
    ):
        await timed(recorder, operation, handle.execute_update(update, arg, result_type=str))
    await timed(recorder, SIGNAL, handle.signal(BareRegistration.clerk_confirmation, "clerk"))
    result = await timed(recorder, RESULT, handle.result())
    if result != "confirmed":
        raise RuntimeError(f"a bare workflow ended with {result!r}")
    return since(began)


async def drive(
    client: Client,
    task_queue: str,
    citizens: int,
    concurrency: int,
    recorder: Recorder,
    run_timeout: float = 600.0,
) -> Outcome:
    """`citizens` bare workflows, `concurrency` at a time, as api_load drives registrations."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one() -> None:
        nonlocal done
        async with gate:
            try:
                async with asyncio.timeout(120):
                    recorder.phase(END_TO_END, await one_registration(client, task_queue, recorder))
                done += 1
            except Exception as error:  # a failed one is counted and reported, not fatal
                recorder.failures[f"{type(error).__name__}: {error}"[:200]] += 1

    began = time.perf_counter()
    finished = True
    try:
        async with asyncio.timeout(run_timeout):
            await asyncio.gather(*(one() for _ in range(citizens)))
    except TimeoutError:
        finished = False
    return Outcome(since(began), done, finished)


def report(recorder: Recorder, outcome: Outcome, citizens: int) -> None:
    table("bare operation", recorder.latencies, OPERATIONS)
    table("phase", recorder.phases, [END_TO_END])
    rate = outcome.confirmed / outcome.seconds if outcome.seconds > 0 else 0.0
    say(f"completed {outcome.confirmed}/{citizens} in {outcome.seconds:.1f} s: {rate:.2f} /s")
    for reason, count in recorder.failures.most_common():
        say(f"  failed ×{count}: {reason}")


# --- standalone -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bare",
        description="Drive bare Temporal workflows shaped like a registration (the floor).",
    )
    parser.add_argument("--temporal-address", default="127.0.0.1:7299")
    parser.add_argument("--namespace", default="registrations")
    parser.add_argument("--task-queue", default="", help="default: a new bare-… queue")
    parser.add_argument("--citizens", type=int, default=200, help="workflows (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="at a time (default 20)")
    parser.add_argument(
        "--codec", action="store_true", help="the project's data converter (encrypted payloads)"
    )
    parser.add_argument(
        "--serve-worker", action="store_true", help="only run the bare worker (used internally)"
    )
    args = parser.parse_args(argv)
    if not is_loopback(f"http://{args.temporal_address}"):
        parser.error("this benchmark runs against a Temporal on loopback only")
    if args.citizens < 1 or args.concurrency < 1:
        parser.error("--citizens and --concurrency must be at least 1")
    args.task_queue = args.task_queue or f"bare-{uuid.uuid4().hex[:8]}"
    return args


async def standalone(args: argparse.Namespace) -> None:
    client = await connect(args.temporal_address, args.namespace, args.codec)
    with bare_worker(args.temporal_address, args.namespace, args.task_queue, args.codec):
        recorder = Recorder()
        outcome = await drive(client, args.task_queue, args.citizens, args.concurrency, recorder)
    report(recorder, outcome, args.citizens)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        if args.serve_worker:
            asyncio.run(
                serve_worker(args.temporal_address, args.namespace, args.task_queue, args.codec)
            )
        else:
            asyncio.run(standalone(args))
    except KeyboardInterrupt:
        sys.exit(130)
    exit_without_finalization()


if __name__ == "__main__":
    main()
