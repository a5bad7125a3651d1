"""Registration from scratch at a service-center counter, in time-skipping Temporal: the clerk
enters the profile, the citizen reads out the code, the agencies check, and the account is
confirmed at once by the center; the citizen gets a link to set the password."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from registration.errors import Refusal
from registration.journey import Agency, ConfirmationMethod, Level, Notice, Stage
from registration.messages import CounterClerk, CounterStart, RequestNewCode, SubmitProfile
from tests.data import PROFILE
from tests.waiting import eventually
from tests.workflows.test_registration import Journey, start
from tests.workflows.world import AgencyScript, World
from workflows import RegistrationWorkflow

CLERK = CounterClerk(clerk_id="clk_7", service_center_id="mfc-77-001")
OTHER_CENTER = CounterClerk(clerk_id="clk_9", service_center_id="mfc-50-002")
COUNTER = CounterStart(clerk=CLERK, profile=PROFILE)


@pytest.fixture
async def counter(env: WorkflowEnvironment, world: World, task_queue: str) -> Journey:
    journey = await start(env, world, task_queue, counter=COUNTER)
    journey.session = None  # a clerk acts, not a citizen session
    return journey


async def confirm_contact_at_counter(journey: Journey) -> None:
    verdict = await journey.update(
        RegistrationWorkflow.submit_contact_code,
        journey.sms().model_copy(update={"counter": CLERK}),
    )
    assert verdict.accepted and verdict.stage is Stage.VERIFICATION


async def test_counter_registration_is_confirmed_once_the_agencies_agree(
    counter: Journey,
) -> None:
    await counter.code_sent()
    await confirm_contact_at_counter(counter)

    view = await counter.wait_for(Stage.CONFIRMED)
    assert view.level is Level.CONFIRMED and view.method is ConfirmationMethod.SERVICE_CENTER
    result = await counter.result()
    assert result.method is ConfirmationMethod.SERVICE_CENTER

    world = counter.world
    steps = [name for name, _ in world.store]
    assert steps == [
        "open_registration",
        "open_counter_account",
        "save_verified_profile",
        "confirm_identity",
    ], "the account is made without a password, verified and confirmed, with no identity stage"
    confirmed = next(e for e in world.audit if e.event == "identity_confirmed")
    assert confirmed.actor == "clerk:clk_7"
    assert confirmed.details["service_center_id"] == "mfc-77-001"
    started = next(e for e in world.audit if e.event == "registration_started")
    assert started.actor == "clerk:clk_7"
    assert [link.sequence for link in world.password_links] == [1]
    assert world.events(counter.id)[-1] == "password_link_sent"
    # The link's message says the account is confirmed: no second message.
    assert Notice.CONFIRMED not in [n.notice for n in world.notices]


async def test_a_mismatch_returns_to_the_clerk_who_corrects_the_profile(counter: Journey) -> None:
    counter.world.agencies[Agency.MVD] = AgencyScript(
        matched=False, reason_code="passport_invalid", reason="Passport is not valid"
    )
    await counter.code_sent()
    await confirm_contact_at_counter(counter)
    view = await counter.wait_for(Stage.PROFILE)
    assert view.last_rejection is not None and view.last_rejection.code == "passport_invalid"
    assert view.last_rejection.agency is Agency.MVD, "the clerk is told which agency"
    notices = counter.world.notices
    await eventually(
        lambda: bool(notices) and notices[-1].notice is Notice.VERIFICATION_FAILED,
        "the verification-failed notice",
    )
    entered = await counter.handle.query(RegistrationWorkflow.counter_profile)
    assert entered.profile is not None
    assert (entered.profile.surname, entered.profile.passport_number) == ("Иванова", "345678")

    corrected = PROFILE.model_copy(update={"passport_number": "345679"})
    # Whoever holds the phone cannot correct it to someone else's profile, nor another center.
    refused = await counter.refused(
        RegistrationWorkflow.submit_profile, SubmitProfile(profile=corrected, session_id="ses_x")
    )
    assert refused.type == Refusal.AT_SERVICE_CENTER
    refused = await counter.refused(
        RegistrationWorkflow.submit_profile,
        SubmitProfile(profile=corrected, counter=OTHER_CENTER),
    )
    assert refused.type == Refusal.AT_SERVICE_CENTER

    counter.world.agencies[Agency.MVD] = AgencyScript()
    done = await counter.update(
        RegistrationWorkflow.submit_profile, SubmitProfile(profile=corrected, counter=CLERK)
    )
    assert done.stage is Stage.VERIFICATION
    view = await counter.wait_for(Stage.CONFIRMED)
    assert view.method is ConfirmationMethod.SERVICE_CENTER
    entered = await counter.handle.query(RegistrationWorkflow.counter_profile)
    assert entered.profile is not None and entered.profile.passport_number == "345679"


async def test_a_citizen_session_takes_no_step_of_a_counter_registration(
    counter: Journey,
) -> None:
    await counter.code_sent()
    refused = await counter.refused(
        RegistrationWorkflow.submit_contact_code, counter.sms(session="ses_phone_holder")
    )
    assert refused.type == Refusal.AT_SERVICE_CENTER
    refused = await counter.refused(
        RegistrationWorkflow.request_new_code, RequestNewCode(session_id="ses_phone_holder")
    )
    assert refused.type == Refusal.AT_SERVICE_CENTER
    refused = await counter.refused(
        RegistrationWorkflow.submit_contact_code,
        counter.sms().model_copy(update={"counter": OTHER_CENTER}),
    )
    assert refused.type == Refusal.AT_SERVICE_CENTER
    assert (await counter.state()).stage is Stage.CONTACT


async def test_the_clerk_asks_for_a_new_code(counter: Journey) -> None:
    await counter.code_sent()
    await counter.env.sleep(61)  # the resend cooldown
    sent = await counter.update(
        RegistrationWorkflow.request_new_code, RequestNewCode(counter=CLERK)
    )
    assert sent.resends_left_today >= 0
    verdict = await counter.update(
        RegistrationWorkflow.submit_contact_code,
        counter.sms(sequence=2).model_copy(update={"counter": CLERK}),
    )
    assert verdict.accepted


async def test_a_portal_registration_refuses_a_clerk(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue)
    await journey.code_sent()
    refused = await journey.refused(
        RegistrationWorkflow.submit_contact_code,
        journey.sms().model_copy(update={"counter": CLERK}),
    )
    assert refused.type == Refusal.WRONG_STAGE
    assert (await journey.state()).stage is Stage.CONTACT
    assert (await journey.handle.query(RegistrationWorkflow.counter_profile)).profile is None


async def test_a_contact_taken_meanwhile_refuses_the_counter_registration(
    counter: Journey,
) -> None:
    counter.world.taken_contacts.add("counter")
    await counter.code_sent()
    await confirm_contact_at_counter(counter)
    view = await counter.wait_for(Stage.REFUSED)
    assert view.last_rejection is not None
    assert counter.world.password_links == []
