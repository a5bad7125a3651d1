"""How the registration waits: for a condition or a deadline, writing its audit lines
meanwhile, and stopping to continue as new when history has grown long.
Workflow code: deterministic, run inside the workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from registration.messages import RegistrationInput
    from registration.policy import Policy
    from workflows.ledger import Ledger
    from workflows.state import RegistrationState


class Wake(Enum):
    """Why a wait ended."""

    DONE = "done"  # the awaited condition holds
    TIMEOUT = "timeout"  # the deadline passed first
    INTERRUPTED = "interrupted"  # cancellation, or time to continue as new


def history_is_long(policy: Policy) -> bool:
    """Time to continue as new: the server suggests it, or history reached our bound."""
    info = workflow.info()
    return (
        info.is_continue_as_new_suggested()
        or info.get_current_history_length() >= policy.max_history_events
    )


async def wait(
    condition: Callable[[], bool],
    until: datetime | None,
    *,
    ledger: Ledger,
    interrupted: Callable[[], bool],
) -> Wake:
    """Wait for `condition` or `until`, writing queued audit lines as they appear; stop early
    when `interrupted` (cancellation, or history long enough to continue as new)."""
    while True:
        await ledger.flush()
        if condition():
            return Wake.DONE
        if interrupted():
            return Wake.INTERRUPTED
        timeout = None
        if until is not None:
            timeout = (until - workflow.now()).total_seconds()
            if timeout <= 0:
                return Wake.TIMEOUT
        try:
            await workflow.wait_condition(
                lambda: condition() or ledger.pending or interrupted(), timeout=timeout
            )
        except TimeoutError:
            return Wake.TIMEOUT


async def continue_as_new(
    input: RegistrationInput, state: RegistrationState, ledger: Ledger
) -> NoReturn:
    """Hand the state to a new run. Only when no handler runs, the portal has every event and
    nothing is left to write, checked together: an update accepted while the last audit lines
    were written (a password) would be cut off by the new run, its caller told the
    registration had moved on."""
    while True:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await ledger.delivered()
        if not ledger.pending:
            break
        await ledger.flush()
    workflow.continue_as_new(input.model_copy(update={"carried": state.model_dump(mode="json")}))
