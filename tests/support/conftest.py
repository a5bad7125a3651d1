"""One real local stack (`gosreg stack`) for the support tests, on ports of its own, started and
stopped once for the package (~15 s), and tokens of each role on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ops.stack import ROOT
from tests.running_stack import LocalStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The first "still pending" answer sets the next attempt an hour away: only support's
    # retry can bring the answer sooner.
    running = LocalStack.on_free_ports(
        tmp_path_factory.mktemp("stack"), policy={"agency_initial_backoff": "PT1H"}
    )
    log = running.data_dir / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "stack"],
            cwd=ROOT,
            env=running.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while b"Registration stack is up" not in log.read_bytes():
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the stack did not come up in 90 s"
            time.sleep(0.3)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise


@pytest.fixture(scope="package")
def tokens(stack: LocalStack) -> dict[str, str]:
    made = {}
    for role in ("portal", "support", "clerk"):
        extra = ["--service-center", "mfc-77-001"] if role == "clerk" else []
        out = stack.gosreg("tokens", "create", "--role", role, "--name", f"{role} test", *extra)
        made[role] = next(line.split()[1] for line in out.splitlines() if line.startswith("token:"))
        made[f"{role}_id"] = out.split("client ")[1].split()[0]
    return made
