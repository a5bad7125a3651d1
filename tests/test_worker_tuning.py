"""The worker's capacity comes from configuration; what is not configured keeps the SDK's
defaults. The worker writes the bytecode of its workflow code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import worker
from settings import Settings
from worker import tuning


def test_unset_capacity_keeps_the_sdk_defaults() -> None:
    assert tuning(Settings()) == {}


def test_configured_capacity_reaches_the_worker() -> None:
    settings = Settings(
        worker_max_cached_workflows=2000,
        worker_max_concurrent_workflow_tasks=50,
        worker_max_concurrent_activities=80,
        worker_activities_per_second=200.0,
    )
    assert tuning(settings) == {
        "max_cached_workflows": 2000,
        "max_concurrent_workflow_tasks": 50,
        "max_concurrent_activities": 80,
        "max_task_queue_activities_per_second": 200.0,
    }


def test_the_worker_writes_the_bytecode_the_workflow_sandbox_imports() -> None:
    # The sandbox imports workflows/ afresh for every workflow; without bytecode (this
    # machine sets PYTHONDONTWRITEBYTECODE) each import compiles the source again.
    source = Path(worker.__file__).parent / "workflows" / "registration.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)

    worker.compile_workflow_code()

    assert cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
