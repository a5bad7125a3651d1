"""Timeouts and retries of every activity the workflow runs, in one place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy

from registration import errors
from registration.policy import Policy


class ActivityOptions(TypedDict, total=False):
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy


STORE: ActivityOptions = {
    # Worst case inside: 10 s to connect plus 15 s per statement (store.db).
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
"""Store writes the journey depends on: retried until they succeed."""

INTERACTIVE: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=5),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
"""A citizen is waiting for the answer of an update: give up quickly and say "not applied"."""

BACKGROUND: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=15),
    "schedule_to_close_timeout": timedelta(days=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=30),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
"""Notifications to the citizen: retried for a day, then let go (support is told)."""

PORTAL: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=10),
        maximum_attempts=0,  # until the portal takes it: no event is lost
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
"""Webhook deliveries to the portal: retried without end (every 10 min at most) while the
journey goes on; awaited before continue-as-new and the end."""

TRACKING: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=15),
    "schedule_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
"""A letter's tracking refresh: a few minutes of tries; the next refresh comes anyway."""


def agency(deadline: datetime, now: datetime, policy: Policy) -> ActivityOptions:
    """An agency asked with backoff until `deadline` (Temporal stops one backoff early)."""
    return {
        "start_to_close_timeout": policy.agency_attempt_timeout,
        "schedule_to_close_timeout": max(deadline - now, timedelta(seconds=1)),
        "retry_policy": RetryPolicy(
            initial_interval=policy.agency_initial_backoff,
            backoff_coefficient=2.0,
            maximum_interval=policy.agency_max_backoff,
            non_retryable_error_types=errors.NON_RETRYABLE,
        ),
    }


def agency_last_attempt(policy: Policy) -> ActivityOptions:
    """One attempt that ends by the deadline: it starts one attempt timeout before it."""
    return {
        "start_to_close_timeout": policy.agency_attempt_timeout,
        "schedule_to_close_timeout": policy.agency_attempt_timeout,
        "retry_policy": RetryPolicy(
            maximum_attempts=1, non_retryable_error_types=errors.NON_RETRYABLE
        ),
    }
