"""Asking the agencies from the workflow: the Pension Fund and MVD checks of a profile, the
INN lookup, each with backoff until a deadline, and an answer in the citizen's terms when none
comes. Which agencies are being asked is kept in the state, for support (`pending_checks`).
Workflow code: deterministic, run inside the workflow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.agencies import AgencyActivities
    from registration import errors
    from registration.activity_messages import AgencyCheck, CheckResult, InnResult
    from registration.journey import Agency, RejectionCode
    from registration.policy import Policy
    from workflows import options
    from workflows.ledger import Ledger
    from workflows.patches import EXACT_DEADLINE, taken
    from workflows.refusals import failure_type
    from workflows.state import RegistrationState

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
            or not taken(EXACT_DEADLINE)
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


async def check_profile(
    registration_id: str,
    state: RegistrationState,
    policy: Policy,
    ledger: Ledger,
    deadline: datetime,
) -> CheckResult | None:
    """Pension Fund and MVD in parallel; the first mismatch (or the deadline) wins."""
    state.pending_checks = [Agency.PENSION_FUND, Agency.MVD]
    state.pending_since = workflow.now()
    ledger.publish_change()

    async def check(method: AgencyCall[CheckResult], agency: Agency) -> CheckResult:
        assert state.profile is not None  # verification starts with a profile
        request = AgencyCheck(
            request_key=f"{registration_id}:{agency}:v{state.profile_version}",
            profile=state.profile,
        )
        try:
            result = await verify(method, agency, request, deadline, policy)
        finally:
            if agency in state.pending_checks:
                state.pending_checks.remove(agency)
        if state.pending_checks:
            ledger.publish_change()  # one answered, the other still pending
        return result

    results = await asyncio.gather(
        check(AgencyActivities.check_pension_fund, Agency.PENSION_FUND),
        check(AgencyActivities.check_passport, Agency.MVD),
    )
    return next((result for result in results if not result.matched), None)


class Stopped(Enum):
    STOPPED = "stopped"


STOPPED = Stopped.STOPPED
"""The checks were stopped before they answered (a cancel, support's retry)."""


async def check_or_stop(
    registration_id: str,
    state: RegistrationState,
    policy: Policy,
    ledger: Ledger,
    *,
    stop: Callable[[], bool],
) -> CheckResult | Stopped | None:
    """`check_profile` until the verification deadline (read now: support may have extended
    it), unless `stop` becomes true first: then the checks are cancelled, nothing is pending,
    and the answer is `STOPPED`."""
    deadline = state.verification_deadline or workflow.now()
    checks = asyncio.ensure_future(check_profile(registration_id, state, policy, ledger, deadline))
    stopped = asyncio.ensure_future(workflow.wait_condition(stop))
    await workflow.wait([checks, stopped], return_when=asyncio.FIRST_COMPLETED)
    if checks.done():
        stopped.cancel()
        return checks.result()
    checks.cancel()
    # It ends with the activities' "cancelled" failure, which is expected: retrieve it so
    # that asyncio does not report it as an error.
    checks.add_done_callback(lambda task: task.cancelled() or task.exception())
    state.pending_checks = []
    state.pending_since = None
    return STOPPED


async def lookup_inn(
    registration_id: str, state: RegistrationState, policy: Policy, ledger: Ledger
) -> InnResult:
    """The citizen's INN from the tax service; none (still `standard`, DOMAIN.md) when it does
    not answer within `inn_deadline`."""
    assert state.profile is not None  # verified just before
    state.pending_checks = [Agency.FNS]
    state.pending_since = workflow.now()
    ledger.publish_change()
    request = AgencyCheck(
        request_key=f"{registration_id}:fns:v{state.profile_version}", profile=state.profile
    )
    try:
        deadline = workflow.now() + policy.inn_deadline
        return await ask(AgencyActivities.lookup_inn, request, deadline, policy)
    except ActivityError:
        return InnResult(found=False)
    finally:
        state.pending_checks = []
        state.pending_since = None
