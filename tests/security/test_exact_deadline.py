"""Finding 10: the verification deadline fired 35 minutes before the `verification_deadline`
shown to support, because Temporal stops retrying as soon as the next backoff (up to an hour)
would pass the activity's schedule-to-close timeout. Now the deadline branch fires at the
deadline support sees: a last attempt is timed to end on it.

The real workflow on the time-skipping test server, with the stand-in world of
tests/workflows (an agency that never answers) and the production policy."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from registration.journey import Agency, Level, Stage
from registration.messages import ExtendDeadline
from registration.policy import Policy
from tests.workflows.conftest import env, task_queue, world
from tests.workflows.test_registration import Journey, start
from tests.workflows.world import AgencyScript, World
from workflows import RegistrationWorkflow

__all__ = ["env", "task_queue", "world"]  # the fixtures of tests/workflows, used here

POLICY = Policy()
LAST_ATTEMPT = POLICY.agency_attempt_timeout  # the last attempt starts this long before


async def silent_pension_fund(journey: Journey) -> Journey:
    journey.world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    return journey


async def test_a_silent_pension_fund_times_out_at_the_deadline_support_sees(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await silent_pension_fund(await start(env, world, task_queue))
    checking = await journey.state()
    deadline = checking.verification_deadline
    assert deadline == checking.stage_entered_at + POLICY.verification_deadline

    await journey.env.sleep(POLICY.verification_deadline - timedelta(minutes=1))
    assert (await journey.state()).stage is Stage.VERIFICATION, "gave up before the deadline"
    back = await journey.wait_for(Stage.PROFILE)

    rejection = back.last_rejection
    assert rejection is not None and rejection.code == "verification_timeout"
    assert deadline - LAST_ATTEMPT <= rejection.at <= deadline, (rejection.at, deadline)
    assert back.stage_entered_at == rejection.at


async def test_an_extended_deadline_is_the_one_met(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await silent_pension_fund(await start(env, world, task_queue))
    await journey.env.sleep(timedelta(days=9))
    extended = await journey.update(
        RegistrationWorkflow.extend_deadline,
        ExtendDeadline(actor="support:anna", reason="PFR outage", deadline="verification", days=2),
    )
    published = (await journey.state()).verification_deadline
    assert published == extended.until

    await journey.env.sleep(timedelta(days=3) - timedelta(minutes=1))
    assert (await journey.state()).stage is Stage.VERIFICATION, "gave up before the deadline"
    back = await journey.wait_for(Stage.PROFILE)
    assert back.last_rejection is not None
    assert published - LAST_ATTEMPT <= back.last_rejection.at <= published


async def test_a_silent_tax_service_gets_its_last_attempt_at_the_inn_deadline(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue)
    world.agencies[Agency.FNS] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    submitted = (await journey.state()).stage_entered_at

    await journey.env.sleep(POLICY.inn_deadline - timedelta(minutes=1))
    assert (await journey.state()).stage is Stage.VERIFICATION, "gave up on the INN early"
    verified = await journey.wait_for(Stage.IDENTITY)
    assert verified.level is Level.STANDARD and verified.inn_found is False
    took = verified.stage_entered_at - submitted
    assert POLICY.inn_deadline - LAST_ATTEMPT <= took <= POLICY.inn_deadline + timedelta(seconds=1)
