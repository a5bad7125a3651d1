"""How the workflow runs a store write: as a local activity in registrations started after
patch `LOCAL_STORE`, as a regular activity in the histories recorded before it.

A store write is a short, idempotent transaction on the worker's own database pool (its audit
seq is its idempotency key), so it needs none of what a regular activity costs: an activity
task on the server, a worker polling for it, and one more workflow task for its answer. A
local activity runs in the worker that runs the workflow task and is recorded as one marker;
Temporal still retries it by its options (and, past a minute, with durable timers).
Workflow code: deterministic, run inside the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError

with workflow.unsafe.imports_passed_through():
    from workflows.options import STORE, ActivityOptions
    from workflows.patches import CLAIMED_WITH_LOCAL_STORE, LOCAL_STORE, every

_Step = TypeVar("_Step")
_Result = TypeVar("_Result")


def local() -> bool:
    """Whether store writes run locally in this registration (patch `LOCAL_STORE`). The first
    time a run recorded before `EVERY_PATCH` takes it, it claims the other patches too
    (`CLAIMED_WITH_LOCAL_STORE`)."""
    if every():
        return True
    if not workflow.patched(LOCAL_STORE):
        return False
    for patch in CLAIMED_WITH_LOCAL_STORE:
        workflow.patched(patch)  # a marker now, or nothing if this run decided it before
    return True


async def write(
    activity: Callable[[Any, _Step], Awaitable[_Result]],
    step: _Step,
    options: ActivityOptions = STORE,
) -> _Result:
    """Run the store activity `activity` with `step`: locally (patch `LOCAL_STORE`) or as a
    regular activity. Its failures are `ActivityError`s either way."""
    if not local():
        return await workflow.execute_activity_method(activity, step, **options)
    try:
        return await workflow.execute_local_activity_method(activity, step, **options)
    except (ApplicationError, TimeoutError) as failure:
        # A local activity's failure comes as its cause alone; the journey's code reads a
        # store refusal as the cause of an `ActivityError`, whichever way the write ran.
        raise ActivityError(
            "A local store activity failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=getattr(activity, "__name__", ""),
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        ) from failure
