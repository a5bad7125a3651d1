"""How the workflow says "not applied": a step's refusal becomes the failure of its update,
typed by its `Refusal` code, with the message and details the API passes on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from temporalio.exceptions import ActivityError, ApplicationError

from registration.errors import Refusal, StepRefused


def refused(error: StepRefused) -> ApplicationError:
    return ApplicationError(error.message, error.payload(), type=error.code, non_retryable=True)


def refuse(code: Refusal, message: str, **details: Any) -> NoReturn:
    """Reject a step: the caller gets `code` as the failure type and nothing is applied."""
    raise refused(StepRefused(code, message, details=details))


@contextmanager
def as_update_failure() -> Iterator[None]:
    """Within it, a rule's `StepRefused` fails the update (or rejects it, in a validator)."""
    try:
        yield
    except StepRefused as error:
        raise refused(error) from None


def failure_type(error: ActivityError) -> str | None:
    """The `ApplicationError` type an activity failed with, if it failed with one."""
    cause = error.cause
    return cause.type if isinstance(cause, ApplicationError) else None
