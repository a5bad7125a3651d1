"""Asking an agency from the workflow: with backoff until a deadline, and an answer in the
citizen's terms when none comes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.agencies import AgencyActivities
    from registration import errors
    from registration.models import Agency, AgencyCheck, CheckResult, RejectionCode
    from registration.policy import Policy
    from workflows import options
    from workflows.patches import EXACT_DEADLINE
    from workflows.refusals import failure_type

Answer = TypeVar("Answer")
AgencyCall = Callable[[AgencyActivities, AgencyCheck], Awaitable[Answer]]


async def ask(
    method: AgencyCall[Answer], check: AgencyCheck, deadline: datetime, policy: Policy
) -> Answer:
    """The agency's answer, asked with backoff until `deadline`; an `ActivityError` with
    `RetryState.TIMEOUT` if it has not answered by then.

    Temporal gives up as soon as the next backoff would pass schedule-to-close, up to
    `agency_max_backoff` before the deadline support sees. So (EXACT_DEADLINE) the workflow
    then sleeps until one attempt before the deadline and asks once more; only that attempt's
    failure is the timeout. Cancelling the caller cancels the sleep."""
    try:
        return await workflow.execute_activity_method(
            method, check, **options.agency(deadline, workflow.now(), policy)
        )
    except ActivityError as error:
        last_start = deadline - policy.agency_attempt_timeout
        if (
            error.retry_state is not RetryState.TIMEOUT
            or workflow.now() >= last_start
            or not workflow.patched(EXACT_DEADLINE)
        ):
            raise
        await workflow.sleep(last_start - workflow.now())
        try:
            return await workflow.execute_activity_method(
                method, check, **options.agency_last_attempt(policy)
            )
        except ActivityError as last:
            if last.retry_state in (RetryState.TIMEOUT, RetryState.MAXIMUM_ATTEMPTS_REACHED):
                raise error from last  # no answer by the deadline, as before
            raise  # an answer after all (a refused request), or a cancellation


async def verify(
    method: AgencyCall[CheckResult],
    agency: Agency,
    check: AgencyCheck,
    deadline: datetime,
    policy: Policy,
) -> CheckResult:
    """The agency's verdict on the data; no answer by the deadline, or a request the agency
    refuses itself, is a mismatch that says so (the citizen checks and resubmits)."""
    try:
        return await ask(method, check, deadline, policy)
    except ActivityError as error:
        if error.retry_state is RetryState.TIMEOUT:
            days = policy.verification_deadline.days
            return CheckResult(
                agency=agency,
                matched=False,
                reason_code=RejectionCode.VERIFICATION_TIMEOUT,
                reason=f"No answer from {agency} within {days} days: "
                "check the data and submit again",
            )
        if failure_type(error) == errors.AGENCY_REQUEST_REJECTED:
            return CheckResult(
                agency=agency,
                matched=False,
                reason_code=RejectionCode.REQUEST_REJECTED,
                reason=f"{agency} could not process the data: check and resubmit",
            )
        raise
