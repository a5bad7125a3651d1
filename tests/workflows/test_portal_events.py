"""Webhooks to the portal: every stage change is handed to the portal, in order, under ids that
stay the same across retries; a portal that is down delays nothing and loses nothing."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from registration.journey import ConfirmationMethod, Level, Stage
from registration.messages import SubmitProfile
from registration.policy import Policy
from tests.data import PROFILE
from tests.workflows.test_registration import CLERK, start
from tests.workflows.world import World
from workflows import RegistrationWorkflow

EVENTS = Policy(portal_events=True)
TOLD = [
    Stage.PASSWORD,
    Stage.PROFILE,
    Stage.VERIFICATION,
    Stage.IDENTITY,
    Stage.CONFIRMED,
]


async def test_the_portal_is_told_every_stage_change_in_order(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue, policy=EVENTS)
    await journey.reach_identity_stage()
    await journey.update(RegistrationWorkflow.confirm_in_person, CLERK)
    await journey.result()

    assert world.stages_told(journey.id) == TOLD
    ids = sorted(world.portal_events)
    assert ids == sorted(f"{journey.id}/{n}" for n in range(1, 6))
    confirmed = world.portal_events[f"{journey.id}/5"]
    assert confirmed.level is Level.CONFIRMED and confirmed.method is ConfirmationMethod.IN_PERSON


async def test_a_portal_that_is_down_delays_nothing_and_loses_nothing(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    world.portal_down_for = 4
    journey = await start(env, world, task_queue, policy=EVENTS)
    await journey.reach_identity_stage()  # goes on while deliveries are retried
    await journey.update(RegistrationWorkflow.confirm_in_person, CLERK)
    await journey.result()
    assert world.stages_told(journey.id) == TOLD
    assert world.calls["deliver_portal_events"] > 4


async def test_a_registration_started_without_webhooks_sends_no_event(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue)
    await journey.reach_identity_stage()
    assert world.calls["deliver_portal_events"] == 0 and world.portal_events == {}


async def test_events_queued_before_continue_as_new_reach_the_portal(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    policy = EVENTS.model_copy(update={"max_history_events": 30})
    journey = await start(env, world, task_queue, policy=policy)
    first_run = (await journey.handle.describe()).run_id
    await journey.confirm_contact()
    await journey.set_password()
    await journey.update(
        RegistrationWorkflow.submit_profile, SubmitProfile(profile=PROFILE, session_id="ses_owner")
    )
    await journey.wait_for(Stage.IDENTITY)
    assert (await journey.handle.describe()).run_id != first_run, "it continued as new"
    assert world.stages_told(journey.id) == TOLD[:4]
