"""The worker's capacity comes from configuration; what is not configured keeps the SDK's
defaults."""

from __future__ import annotations

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
