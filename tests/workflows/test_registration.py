"""The registration workflow, stage by stage and branch by branch, in time-skipping Temporal."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import UpdateMethodMultiParam

from activities import build_activities
from registration.activity_messages import SignatureCheck
from registration.codes import Purpose
from registration.contact import Contact
from registration.errors import NOT_CONFIRMED, ConfirmationRefusal, Refusal
from registration.journey import Agency, Attention, ConfirmationMethod, Level, Notice, Stage
from registration.messages import (
    BankConfirmation,
    Cancel,
    ChooseMethod,
    ClerkConfirmation,
    CodeVerdict,
    ConfirmationVerdict,
    CounterStart,
    ExtendDeadline,
    PasswordSet,
    RegistrationInput,
    RegistrationResult,
    RegistrationView,
    RequestNewCode,
    StepDone,
    SubmitCode,
    SubmitProfile,
    SubmitSignature,
    SupportAction,
)
from registration.person import Person, Profile
from registration.policy import Policy
from settings import Settings
from tests.data import ADDRESS, PROFILE
from tests.waiting import eventually, wait_for
from tests.workflows.world import AgencyScript, World, attesting
from workflows import RegistrationWorkflow
from workflows import search_attributes as search

Arg = TypeVar("Arg")
R = TypeVar("R")
Update = UpdateMethodMultiParam[[RegistrationWorkflow, Arg], R]
"""An update of the registration workflow, by reference: mypy checks its argument and result."""

OWNER = "ses_owner"
CLERK = ClerkConfirmation(
    clerk_id="clerk-7",
    service_center_id="mfc-77-001",
    passport_series="4512",
    passport_number="345678",
    snils="11223344595",
)
BANK = BankConfirmation(
    bank_id="sber",
    surname="Иванова",
    name="Мария",
    patronymic="Петровна",
    birth_date=date(1990, 5, 15),
    snils="112-233-445 95",
    passport_series="4512",
    passport_number="345678",
)


class Journey:
    """Drives one registration the way the portal would, with the stand-in world's codes."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        world: World,
        handle: WorkflowHandle[RegistrationWorkflow, RegistrationResult],
    ):
        self.env, self.world, self.handle = env, world, handle
        self.id = handle.id
        self.session: str | None = OWNER
        """The citizen session the steps come from, as the service sends them."""

    async def update(self, update: Update[Arg, R], arg: Arg) -> R:
        return await self.handle.execute_update(update, arg)

    async def refused(self, update: Update[Arg, Any], arg: Arg) -> ApplicationError:
        """Send an update that must be refused; return the refusal."""
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await self.handle.execute_update(update, arg)
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError)
        return cause

    async def code_sent(self) -> RegistrationView:
        """The state once the first code is out (start returns before it is sent)."""
        for _ in range(100):
            view = await self.state()
            if view.code_expires_at is not None:
                return view
            await asyncio.sleep(0.05)
        raise AssertionError("the first code was never sent")

    async def state(self) -> RegistrationView:
        return await self.handle.query(RegistrationWorkflow.state)

    def sms(self, sequence: int = 1, session: str | None = None) -> SubmitCode:
        code = self.world.sms_code(self.id, sequence)
        return SubmitCode(
            code_hash=self.world.code_hash(self.id, Purpose.SMS, code),
            session_id=session or self.session,
        )

    def wrong_sms(self, session: str | None = None) -> SubmitCode:
        return SubmitCode(
            code_hash=self.world.code_hash(self.id, Purpose.SMS, "000000"),
            session_id=session or self.session,
        )

    async def confirm_contact(self) -> CodeVerdict:
        return await self.update(RegistrationWorkflow.submit_contact_code, self.sms())

    async def set_password(self) -> StepDone:
        self.world.staged_passwords.add(self.id)
        return await self.update(
            RegistrationWorkflow.password_set,
            PasswordSet(session_id=self.session, staged_id="staged"),
        )

    async def signed(self) -> SubmitSignature:
        """A request signed over the registration's current challenge (the world's signature
        service says whose certificate signed it)."""
        challenge = (await self.state()).signature_challenge
        assert challenge is not None, "no challenge to sign"
        return SubmitSignature(signed_request=challenge)

    async def submit_profile(self, profile: Profile = PROFILE) -> StepDone:
        return await self.update(
            RegistrationWorkflow.submit_profile,
            SubmitProfile(profile=profile, session_id=self.session),
        )

    async def wait_for(
        self, stage: Stage, step: timedelta = timedelta(seconds=10), limit: int = 200
    ) -> RegistrationView:
        return await wait_for(
            stage,
            self.state,
            lambda view: view.stage,
            pause=lambda: self.env.sleep(step),
            looks=limit,
            what=self.id,
        )

    async def reach_identity_stage(self) -> None:
        await self.confirm_contact()
        await self.set_password()
        await self.submit_profile()
        await self.wait_for(Stage.IDENTITY)

    async def result(self) -> RegistrationResult:
        return await self.handle.result()

    async def search_attributes(self) -> TypedSearchAttributes:
        return (await self.handle.describe()).typed_search_attributes

    async def current_details(self) -> str:
        """What the Temporal UI shows as the workflow's current details."""
        metadata: WorkflowMetadata = await self.handle.query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata
        )
        return metadata.current_details


@pytest.fixture
async def journey(env: WorkflowEnvironment, world: World, task_queue: str) -> Journey:
    return await start(env, world, task_queue)


async def start(
    env: WorkflowEnvironment,
    world: World,
    task_queue: str,
    policy: Policy | None = None,
    contact: Contact | None = None,
    counter: CounterStart | None = None,
) -> Journey:
    registration_id = f"reg-{uuid.uuid4().hex}"
    client = attesting(env.client)
    handle = await client.start_workflow(
        RegistrationWorkflow.run,
        RegistrationInput(
            registration_id=registration_id,
            person=Person(surname="Иванова", name="Мария"),
            contact=contact or Contact(channel="sms", address="+79123456789"),
            policy=policy or Policy(),
            counter=counter,
        ),
        id=registration_id,
        task_queue=task_queue,
    )
    world.started.append(registration_id)
    # Talk to the registration, not to one run of it: continue-as-new starts new runs.
    return Journey(env, world, client.get_workflow_handle_for(RegistrationWorkflow.run, handle.id))


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    """Updates written to history (a validator's rejection writes nothing)."""
    history = await handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for event in history.events if event.event_type == accepted)


# --- the four happy paths ---------------------------------------------------------------------


async def test_letter_confirms_identity_without_tax_cabinet_access(journey: Journey) -> None:
    verdict = await journey.confirm_contact()
    assert verdict.accepted and verdict.stage is Stage.PASSWORD
    assert (await journey.set_password()).level is Level.SIMPLIFIED
    assert (await journey.submit_profile()).stage is Stage.VERIFICATION
    view = await journey.wait_for(Stage.IDENTITY)
    assert view.level is Level.STANDARD and view.inn_found is True

    chosen = await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    assert chosen.letter is not None and chosen.letter.tracking_number == "10000000000001"
    code = journey.world.letter_code(journey.id, 1)
    letter_hash = journey.world.code_hash(journey.id, Purpose.LETTER, code.lower())
    verdict = await journey.update(
        RegistrationWorkflow.submit_letter_code, SubmitCode(code_hash=letter_hash)
    )
    assert verdict.accepted

    result = await journey.result()
    assert result == RegistrationResult(
        stage=Stage.CONFIRMED, level=Level.CONFIRMED, method=ConfirmationMethod.LETTER
    )
    confirmed = [req for name, req in journey.world.store if name == "confirm_identity"]
    assert len(confirmed) == 1 and confirmed[0].tax_cabinet_access is False
    attributes = (await journey.handle.describe()).typed_search_attributes
    assert attributes.get(search.STAGE) == "confirmed"
    assert attributes.get(search.LEVEL) == "confirmed"
    assert [n.notice for n in journey.world.notices] == [Notice.STANDARD_GRANTED, Notice.CONFIRMED]
    assert journey.world.events(journey.id)[:5] == [
        "registration_started",
        "contact_code_sent",
        "session_bound",
        "contact_confirmed",
        "password_set",
    ]


async def test_clerk_with_matching_documents_confirms_in_person(journey: Journey) -> None:
    await journey.reach_identity_stage()
    verdict = await journey.update(RegistrationWorkflow.confirm_in_person, CLERK)
    assert verdict == ConfirmationVerdict(confirmed=True, stage=Stage.CONFIRMED)
    result = await journey.result()
    assert result.method is ConfirmationMethod.IN_PERSON and result.level is Level.CONFIRMED
    entry = next(e for e in journey.world.audit if e.event == "identity_confirmed")
    assert entry.actor == "clerk:clerk-7" and entry.details["service_center_id"] == "mfc-77-001"
    confirmed = [req for name, req in journey.world.store if name == "confirm_identity"]
    assert confirmed[0].tax_cabinet_access is True


async def test_valid_esignature_of_the_same_person_confirms(journey: Journey) -> None:
    await journey.reach_identity_stage()
    journey.world.signature = SignatureCheck(
        valid=True, snils="11223344595", surname="ИВАНОВА", name="мария"
    )
    verdict = await journey.update(RegistrationWorkflow.submit_signature, await journey.signed())
    assert verdict.confirmed
    assert (await journey.result()).method is ConfirmationMethod.ESIGNATURE


async def test_an_esignature_over_another_challenge_is_refused(journey: Journey) -> None:
    """A request the person once signed for another registration (or an older challenge)
    confirms nothing here: the signature must be over this registration's challenge."""
    await journey.reach_identity_stage()
    journey.world.signature = SignatureCheck(
        valid=True, snils="11223344595", surname="Иванова", name="Мария"
    )
    challenge = (await journey.state()).signature_challenge
    assert challenge is not None and journey.id in challenge
    other = SubmitSignature(signed_request=f"gosreg-identity:reg-other:{'0' * 32}")
    verdict = await journey.update(RegistrationWorkflow.submit_signature, other)
    assert not verdict.confirmed and verdict.reason == NOT_CONFIRMED
    await journey.env.sleep(timedelta(seconds=1))  # the audit line is written next
    refused = next(e for e in journey.world.audit if e.event == "confirmation_refused")
    assert refused.details == {"reason": "signature_other_challenge"}
    verdict = await journey.update(RegistrationWorkflow.submit_signature, await journey.signed())
    assert verdict.confirmed


async def test_esignature_of_another_person_is_refused(journey: Journey) -> None:
    await journey.reach_identity_stage()
    journey.world.signature = SignatureCheck(
        valid=True, snils="11223344595", surname="Петрова", name="Мария"
    )
    verdict = await journey.update(RegistrationWorkflow.submit_signature, await journey.signed())
    assert not verdict.confirmed and verdict.reason == NOT_CONFIRMED
    assert (await journey.state()).stage is Stage.IDENTITY
    await journey.env.sleep(timedelta(seconds=1))  # the audit line is written next
    refused = next(e for e in journey.world.audit if e.event == "confirmation_refused")
    assert refused.details == {"reason": "signature_other_person", "mismatched": ["surname"]}


async def test_bank_with_matching_identity_confirms(journey: Journey) -> None:
    await journey.reach_identity_stage()
    verdict = await journey.update(RegistrationWorkflow.confirm_by_bank, BANK)
    assert verdict.confirmed and verdict.stage is Stage.CONFIRMED
    result = await journey.result()
    assert result.method is ConfirmationMethod.BANK


# --- contact confirmation -------------------------------------------------------------------


async def test_code_expires_after_300_seconds(journey: Journey) -> None:
    await journey.env.sleep(timedelta(seconds=301))
    refusal = await journey.refused(RegistrationWorkflow.submit_contact_code, journey.sms())
    assert refusal.type == Refusal.CODE_EXPIRED
    assert refusal.message == "The code has expired: request a new one"


async def test_code_is_still_valid_just_before_300_seconds(journey: Journey) -> None:
    await journey.env.sleep(timedelta(seconds=290))
    assert (await journey.confirm_contact()).accepted


async def test_three_wrong_codes_burn_the_code_and_ten_lock_the_registration(
    journey: Journey,
) -> None:
    verdicts = [
        await journey.update(RegistrationWorkflow.submit_contact_code, journey.wrong_sms())
        for _ in range(3)
    ]
    assert [v.attempts_left for v in verdicts] == [2, 1, 0]
    assert verdicts[-1].code_burnt
    refusal = await journey.refused(RegistrationWorkflow.submit_contact_code, journey.sms())
    assert refusal.type == Refusal.NO_ACTIVE_CODE

    failures = 3
    sequence = 1
    while failures < 10:
        await journey.env.sleep(timedelta(seconds=61))
        await journey.update(RegistrationWorkflow.request_new_code, RequestNewCode())
        sequence += 1
        for _ in range(min(3, 10 - failures)):
            verdict = await journey.update(
                RegistrationWorkflow.submit_contact_code, journey.wrong_sms()
            )
            failures += 1
    assert verdict.locked_until is not None
    view = await journey.state()
    assert view.locked_until == verdict.locked_until

    refusal = await journey.refused(RegistrationWorkflow.request_new_code, RequestNewCode())
    assert refusal.type == Refusal.LOCKED
    await journey.env.sleep(timedelta(minutes=10, seconds=1))
    await journey.update(RegistrationWorkflow.request_new_code, RequestNewCode())
    ok = await journey.update(RegistrationWorkflow.submit_contact_code, journey.sms(sequence + 1))
    assert ok.accepted
    assert "contact_locked" in journey.world.events(journey.id)


async def test_new_code_respects_the_cooldown(journey: Journey) -> None:
    refusal = await journey.refused(RegistrationWorkflow.request_new_code, RequestNewCode())
    assert refusal.type == Refusal.RESEND_TOO_SOON
    await journey.env.sleep(timedelta(seconds=61))
    sent = await journey.update(RegistrationWorkflow.request_new_code, RequestNewCode())
    assert sent.resends_left_today == 18
    verdict = await journey.update(RegistrationWorkflow.submit_contact_code, journey.sms(1))
    assert not verdict.accepted, "the first code stops working once a new one is sent"
    assert (await journey.update(RegistrationWorkflow.submit_contact_code, journey.sms(2))).accepted


async def test_unconfirmed_contact_expires_after_24_hours(journey: Journey) -> None:
    await journey.env.sleep(timedelta(hours=24, seconds=1))
    result = await journey.result()
    assert result.stage is Stage.EXPIRED
    assert journey.world.store[-1][0] == "close_registration"


async def test_email_registration_gets_a_link_valid_for_24_hours(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(
        env, world, task_queue, contact=Contact(channel="email", address="maria@example.ru")
    )
    view = await journey.code_sent()
    assert view.code_expires_at is not None
    assert view.code_expires_at - view.stage_entered_at >= timedelta(hours=23, minutes=59)


async def test_contact_with_an_account_is_refused(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    world.taken_contacts.add("+79123456789")
    journey = await start(env, world, task_queue)
    result = await journey.result()
    assert result.stage is Stage.REFUSED


# --- sessions: whoever proves the contact owns the registration --------------------------------


async def test_the_session_that_enters_the_code_owns_the_registration(journey: Journey) -> None:
    verdict = await journey.update(RegistrationWorkflow.submit_contact_code, journey.sms())
    assert verdict.accepted
    bound = [request for name, request in journey.world.store if name == "bind_session"]
    assert [request.session_id for request in bound] == [OWNER]
    journey.world.staged_passwords.add(journey.id)
    stranger = PasswordSet(session_id="ses_stranger", staged_id="staged")
    refusal = await journey.refused(RegistrationWorkflow.password_set, stranger)
    assert refusal.type == Refusal.SESSION_REVOKED
    profile = SubmitProfile(profile=PROFILE, session_id="ses_stranger")
    assert (
        await journey.refused(RegistrationWorkflow.submit_profile, profile)
    ).type == Refusal.SESSION_REVOKED
    cancel = Cancel(actor="citizen", reason="mine", session_id="ses_stranger")
    assert (
        await journey.refused(RegistrationWorkflow.cancel, cancel)
    ).type == Refusal.SESSION_REVOKED
    # The owner's own code request is a step of a stage that is over.
    again = await journey.refused(
        RegistrationWorkflow.request_new_code, RequestNewCode(session_id=OWNER)
    )
    assert again.type == Refusal.WRONG_STAGE
    assert (await journey.set_password()).stage is Stage.PROFILE


async def test_another_session_takes_over_only_by_proving_the_contact_again(
    journey: Journey, env: WorkflowEnvironment
) -> None:
    await journey.confirm_contact()
    await journey.set_password()
    newcomer = "ses_newcomer"
    claim_view = await journey.handle.query("session_state", newcomer, result_type=RegistrationView)
    assert (claim_view.stage, claim_view.level) == (Stage.CONTACT, Level.NONE)
    assert claim_view.code_expires_at is None and claim_view.method is None
    owner_view = await journey.handle.query(RegistrationWorkflow.session_state, OWNER)
    assert owner_view.stage is Stage.PROFILE

    # The first code was used: it proves nothing now. A new one is sent after the cooldown.
    old = await journey.refused(
        RegistrationWorkflow.submit_contact_code, journey.sms(1, session=newcomer)
    )
    assert old.type == Refusal.NO_ACTIVE_CODE
    await env.sleep(timedelta(seconds=61))
    claim = RequestNewCode(session_id=newcomer)
    sent = await journey.update(RegistrationWorkflow.request_new_code, claim)
    assert sent.code_expires_at > (await journey.state()).stage_entered_at
    wrong = await journey.update(
        RegistrationWorkflow.submit_contact_code, journey.wrong_sms(newcomer)
    )
    # A session proving the contact anew is told nothing of where the registration is.
    assert (wrong.accepted, wrong.attempts_left, wrong.stage) == (False, 2, Stage.CONTACT)
    right = journey.sms(2, session=newcomer)
    taken = await journey.update(RegistrationWorkflow.submit_contact_code, right)
    assert taken.accepted and taken.stage is Stage.PROFILE, "the registration keeps its stage"

    refused = await journey.refused(
        RegistrationWorkflow.submit_profile, SubmitProfile(profile=PROFILE, session_id=OWNER)
    )
    assert refused.type == Refusal.SESSION_REVOKED
    journey.session = newcomer
    assert (await journey.submit_profile()).stage is Stage.VERIFICATION
    events = journey.world.events(journey.id)
    assert events.count("session_bound") == 1 and events.count("session_taken_over") == 1
    assert events.index("contact_reproof_requested") < events.index("session_taken_over")


async def test_a_claim_on_a_registration_from_before_sessions_needs_a_fresh_code(
    journey: Journey,
) -> None:
    """A registration whose contact was confirmed without a session (started before them, or
    by support's tools) has no owner: any session must prove the contact again."""
    journey.session = None
    assert (await journey.confirm_contact()).accepted
    journey.world.staged_passwords.add(journey.id)
    refusal = await journey.refused(
        RegistrationWorkflow.password_set, PasswordSet(session_id="ses_new")
    )
    assert refusal.type == Refusal.CONTACT_NOT_PROVEN
    assert (
        await journey.update(RegistrationWorkflow.password_set, PasswordSet())
    ).stage is Stage.PROFILE


# --- password and profile -------------------------------------------------------------------


async def test_password_must_be_staged_in_the_store_first(journey: Journey) -> None:
    await journey.confirm_contact()
    refusal = await journey.refused(RegistrationWorkflow.password_set, PasswordSet())
    assert refusal.type == Refusal.PASSWORD_NOT_STAGED
    assert (await journey.state()).stage is Stage.PASSWORD


async def test_invalid_profile_is_rejected_without_touching_history(journey: Journey) -> None:
    await journey.confirm_contact()
    await journey.set_password()
    before = await accepted_updates(journey.handle)
    bad = PROFILE.model_copy(update={"snils": "112-233-445 96", "passport_series": "45 12"})
    refusal = await journey.refused(RegistrationWorkflow.submit_profile, SubmitProfile(profile=bad))
    assert refusal.type == Refusal.INVALID_INPUT
    fields = {e["field"]: e["message"] for e in refusal.details[0]["errors"]}
    assert fields["snils"] == "SNILS check digits do not match"
    assert "passport_series" in fields
    assert await accepted_updates(journey.handle) == before


async def test_step_of_another_stage_is_refused(journey: Journey) -> None:
    refusal = await journey.refused(
        RegistrationWorkflow.submit_profile, SubmitProfile(profile=PROFILE)
    )
    assert refusal.type == Refusal.WRONG_STAGE
    assert refusal.details[0]["details"]["stage"] == "contact_confirmation"


# --- automatic verification -----------------------------------------------------------------


async def test_agency_mismatch_returns_to_profile_and_correction_passes(journey: Journey) -> None:
    journey.world.agencies[Agency.MVD] = AgencyScript(
        matched=False, reason_code="passport_invalid", reason="Passport is not valid"
    )
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    view = await journey.wait_for(Stage.PROFILE)
    assert view.last_rejection is not None and view.last_rejection.code == "passport_invalid"
    assert view.level is Level.SIMPLIFIED
    notices = journey.world.notices
    await eventually(
        lambda: bool(notices) and notices[-1].notice is Notice.VERIFICATION_FAILED,
        "the verification-failed notice",
    )

    journey.world.agencies[Agency.MVD] = AgencyScript()
    await journey.submit_profile(PROFILE.model_copy(update={"passport_number": "345679"}))
    view = await journey.wait_for(Stage.IDENTITY)
    assert view.level is Level.STANDARD and view.last_rejection is None


async def test_agency_silent_for_eleven_days_hits_the_deadline(journey: Journey) -> None:
    journey.world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    view = await journey.state()
    assert set(view.pending_checks) <= {Agency.PENSION_FUND, Agency.MVD}
    await journey.env.sleep(timedelta(days=11))
    view = await journey.wait_for(Stage.PROFILE)
    assert view.last_rejection is not None
    assert view.last_rejection.code == "verification_timeout"
    assert journey.world.calls[Agency.PENSION_FUND] > 100, "retried with backoff for days"
    assert view.attention == "verification_timeout"
    attributes = await journey.search_attributes()
    assert attributes.get(search.ATTENTION) == "verification_timeout"
    assert attributes.get(search.NEEDS_ATTENTION) is True
    assert attributes.get(search.PENDING_AGENCY) is None
    assert "did not answer before the deadline" in view.summary


async def test_support_retries_the_checks_now_instead_of_after_the_backoff(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue, policy=Policy(agency_initial_backoff="PT1H"))
    world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=1)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    # The first attempt found no answer and the 1 h backoff began; MVD has answered and the
    # workflow knows it (cancelling an activity as it completes trips the test server).
    for _ in range(500):
        if world.calls[Agency.PENSION_FUND] >= 1:
            if (await journey.state()).pending_checks == [Agency.PENSION_FUND]:
                break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the Pension Fund was never left waiting alone")
    done = await journey.update(
        RegistrationWorkflow.retry_checks,
        SupportAction(actor="support:anna", reason="agency is back"),
    )
    assert done.stage is Stage.VERIFICATION
    view = await journey.wait_for(Stage.IDENTITY, limit=20)  # 200 s, far less than the 1 h backoff
    assert view.level is Level.STANDARD
    retried = [e for e in world.audit if e.event == "checks_retried"]
    assert retried[0].actor == "support:anna" and retried[0].details["reason"] == "agency is back"


async def test_checks_can_only_be_retried_during_verification(journey: Journey) -> None:
    action = SupportAction(actor="support:anna", reason="x")
    assert (
        await journey.refused(RegistrationWorkflow.retry_checks, action)
    ).type == Refusal.WRONG_STAGE


async def test_inn_lookup_failure_does_not_block_standard(journey: Journey) -> None:
    journey.world.agencies[Agency.FNS] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    # Only once the tax service is being asked does its one-day deadline run: a busy machine
    # may take a while to get there, and skipping time before it would skip nothing.
    for _ in range(100):
        if (await journey.state()).pending_checks == [Agency.FNS]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the tax service was never asked")
    await journey.env.sleep(timedelta(days=2))
    view = await journey.wait_for(Stage.IDENTITY)
    assert view.level is Level.STANDARD and view.inn_found is False


# --- identity confirmation ------------------------------------------------------------------


async def test_letter_expires_at_day_30_and_can_be_reordered(journey: Journey) -> None:
    await journey.reach_identity_stage()
    await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    refusal = await journey.refused(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    assert refusal.type == Refusal.LETTER_REORDER_TOO_SOON

    await journey.env.sleep(timedelta(days=30, hours=1))
    view = await journey.state()
    assert view.letter is not None and view.letter.status == "code_expired"
    assert view.attention == "letter_code_expired"
    attributes = await journey.search_attributes()
    assert attributes.get(search.ATTENTION) == "letter_code_expired"
    assert attributes.get(search.METHOD) == "letter"
    assert attributes.get(search.LETTERS_SENT) == 1
    old = journey.world.code_hash(
        journey.id, Purpose.LETTER, journey.world.letter_code(journey.id, 1)
    )
    refusal = await journey.refused(
        RegistrationWorkflow.submit_letter_code, SubmitCode(code_hash=old)
    )
    assert refusal.type == Refusal.CODE_EXPIRED, "an expired letter code says it expired"
    assert Notice.LETTER_REMINDER in [n.notice for n in journey.world.notices]
    assert "letter_status" in journey.world.events(journey.id), "tracking was refreshed"

    chosen = await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    assert chosen.letter is not None and chosen.letter.tracking_number == "10000000000002"
    attributes = await journey.search_attributes()
    assert attributes.get(search.LETTERS_SENT) == 2
    assert attributes.get(search.NEEDS_ATTENTION) is False, "a fresh letter is on its way"
    new = journey.world.code_hash(
        journey.id, Purpose.LETTER, journey.world.letter_code(journey.id, 2)
    )
    assert (
        await journey.update(RegistrationWorkflow.submit_letter_code, SubmitCode(code_hash=new))
    ).accepted
    assert (await journey.result()).method is ConfirmationMethod.LETTER
    assert len(journey.world.letters) == 2


async def test_letter_order_the_post_did_not_take_is_reported_not_applied(
    journey: Journey,
) -> None:
    await journey.reach_identity_stage()
    journey.world.post_down = True
    order = asyncio.create_task(
        journey.refused(
            RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
        )
    )
    await journey.env.sleep(timedelta(seconds=31))  # the citizen waits 30 s at most
    refusal = await order
    assert refusal.type == Refusal.UNAVAILABLE
    view = await journey.state()
    assert view.method is None and view.letter is None
    journey.world.post_down = False
    chosen = await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    assert chosen.letter is not None


async def test_support_resends_the_letter_despite_the_reorder_gap(journey: Journey) -> None:
    await journey.reach_identity_stage()
    action = SupportAction(actor="support:oleg", reason="citizen says it never came")
    assert (
        await journey.refused(RegistrationWorkflow.resend_letter, action)
    ).type == Refusal.METHOD_NOT_CHOSEN
    await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    resent = await journey.update(RegistrationWorkflow.resend_letter, action)
    assert resent.letter is not None and resent.letter.tracking_number == "10000000000002"
    assert [letter.address for letter in journey.world.letters] == [ADDRESS, ADDRESS]
    new = journey.world.code_hash(
        journey.id, Purpose.LETTER, journey.world.letter_code(journey.id, 2)
    )
    verdict = await journey.update(
        RegistrationWorkflow.submit_letter_code, SubmitCode(code_hash=new)
    )
    assert verdict.accepted
    await journey.result()
    resent_events = [e for e in journey.world.audit if e.event == "letter_resent"]
    assert resent_events[0].actor == "support:oleg"


async def test_five_wrong_letter_codes_lock_code_entry(journey: Journey) -> None:
    await journey.reach_identity_stage()
    await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    wrong = SubmitCode(code_hash=journey.world.code_hash(journey.id, Purpose.LETTER, "0" * 10))
    verdicts = [
        await journey.update(RegistrationWorkflow.submit_letter_code, wrong) for _ in range(5)
    ]
    assert [v.attempts_left for v in verdicts] == [4, 3, 2, 1, 0]
    assert verdicts[-1].locked_until is not None
    assert (
        await journey.refused(RegistrationWorkflow.submit_letter_code, wrong)
    ).type == Refusal.LOCKED


async def test_clerk_with_mismatching_documents_is_refused_and_recorded(journey: Journey) -> None:
    await journey.reach_identity_stage()
    verdict = await journey.update(
        RegistrationWorkflow.confirm_in_person,
        CLERK.model_copy(update={"passport_number": "000000"}),
    )
    assert not verdict.confirmed and verdict.stage is Stage.IDENTITY
    assert verdict.reason == "Documents do not match: passport_number", "the clerk holds them"
    assert verdict.mismatched == ["passport_number"]
    view = await journey.state()
    assert view.refused_confirmations[-1].code == ConfirmationRefusal.DOCUMENTS_MISMATCH
    assert view.confirmations_refused == 1 and view.confirmation_locked_until is None
    await journey.wait_for(Stage.IDENTITY)
    refused = [e for e in journey.world.audit if e.event == "confirmation_refused"]
    assert refused and refused[0].actor == "clerk:clerk-7"
    assert refused[0].details["mismatched"] == ["passport_number"]
    attributes = await journey.search_attributes()
    assert attributes.get(search.SERVICE_CENTER) == "mfc-77-001"
    assert attributes.get(search.ATTENTION) == "confirmation_refused"
    assert "1 confirmation(s) refused" in await journey.current_details()


async def test_bank_refusal_names_no_field_but_the_audit_trail_does(journey: Journey) -> None:
    await journey.reach_identity_stage()
    verdicts = [
        await journey.update(RegistrationWorkflow.confirm_by_bank, BANK.model_copy(update=wrong))
        for wrong in ({"passport_number": "000001"}, {"birth_date": date(1990, 5, 16)})
    ]
    assert [v.reason for v in verdicts] == [NOT_CONFIRMED, NOT_CONFIRMED]
    assert [v.mismatched for v in verdicts] == [None, None], "a partner is not told"
    view = await journey.state()
    assert all(r.message == NOT_CONFIRMED for r in view.refused_confirmations)
    await journey.env.sleep(timedelta(seconds=1))
    refused = [e for e in journey.world.audit if e.event == "confirmation_refused"]
    assert [e.details for e in refused] == [
        {"reason": "identity_mismatch", "mismatched": ["passport_number"]},
        {"reason": "identity_mismatch", "mismatched": ["birth_date"]},
    ]
    assert all(e.actor == "bank:sber" for e in refused)


async def test_five_refused_confirmations_lock_confirmation_for_a_day_and_ask_support(
    journey: Journey,
) -> None:
    await journey.reach_identity_stage()
    wrong = [BANK.model_copy(update={"passport_number": f"00000{n}"}) for n in range(5)]
    verdicts = [await journey.update(RegistrationWorkflow.confirm_by_bank, w) for w in wrong]
    assert [v.locked_until is not None for v in verdicts] == [False] * 4 + [True]
    locked_until = verdicts[-1].locked_until
    assert locked_until is not None
    refusal = await journey.refused(RegistrationWorkflow.confirm_by_bank, BANK)
    assert refusal.type == Refusal.LOCKED, "even the right data wait for the lock"
    assert refusal.details[0]["details"]["locked_until"] == locked_until.isoformat()
    assert (
        await journey.refused(RegistrationWorkflow.confirm_in_person, CLERK)
    ).type == Refusal.LOCKED
    assert (
        await journey.refused(
            RegistrationWorkflow.submit_signature, SubmitSignature(signed_request="sig")
        )
    ).type == Refusal.LOCKED
    view = await journey.state()
    assert view.attention is Attention.CONFIRMATION_LOCKED
    assert view.confirmation_locked_until == locked_until and view.confirmations_refused == 5
    await journey.env.sleep(timedelta(seconds=1))
    attributes = await journey.search_attributes()
    assert attributes.get(search.NEEDS_ATTENTION) is True
    assert attributes.get(search.ATTENTION) == "confirmation_locked"
    assert "locked until" in await journey.current_details()
    assert "confirmation_locked" in journey.world.events(journey.id)

    await journey.env.sleep(timedelta(hours=24))
    verdict = await journey.update(RegistrationWorkflow.confirm_by_bank, BANK)
    assert verdict.confirmed
    assert (await journey.result()).method is ConfirmationMethod.BANK


async def test_refused_confirmations_keep_the_last_five_and_count_all(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue, policy=Policy(confirmation_attempts=10))
    await journey.reach_identity_stage()
    other = CLERK.model_copy(update={"passport_number": "000000"})
    await journey.update(RegistrationWorkflow.confirm_in_person, other)
    for n in range(6):
        wrong = BANK.model_copy(update={"passport_number": f"00000{n}"})
        await journey.update(RegistrationWorkflow.confirm_by_bank, wrong)
    view = await journey.state()
    assert view.confirmations_refused == 7
    assert [r.code for r in view.refused_confirmations] == [
        ConfirmationRefusal.IDENTITY_MISMATCH
    ] * 5, "the clerk's, the oldest, is only counted"
    assert view.attention is Attention.CONFIRMATION_REFUSED
    assert "7 confirmation(s) refused" in view.summary


async def test_clerk_before_the_identity_stage_is_refused_and_writes_nothing(
    journey: Journey,
) -> None:
    await journey.code_sent()
    refusal = await journey.refused(RegistrationWorkflow.confirm_in_person, CLERK)
    assert refusal.type == Refusal.WRONG_STAGE
    assert await accepted_updates(journey.handle) == 0, "refused by the validator"
    await journey.handle.signal("clerk_confirmation", CLERK)  # the old way: ignored
    await journey.handle.signal("bank_confirmation", BANK)
    view = await journey.state()
    assert view.refused_confirmations == [] and view.confirmations_refused == 0
    assert view.attention is None
    attributes = await journey.search_attributes()
    assert attributes.get(search.SERVICE_CENTER) is None
    assert attributes.get(search.NEEDS_ATTENTION) is False
    assert "confirmation_refused" not in journey.world.events(journey.id)
    assert (await journey.confirm_contact()).accepted


async def test_clerk_signal_of_an_older_caller_still_confirms_at_the_identity_stage(
    journey: Journey,
) -> None:
    await journey.reach_identity_stage()
    await journey.handle.signal("clerk_confirmation", CLERK.model_copy(update={"snils": "1"}))
    view = await journey.state()
    assert view.refused_confirmations[-1].message == "Documents do not match: snils"
    await journey.handle.signal("clerk_confirmation", CLERK)
    assert (await journey.result()).method is ConfirmationMethod.IN_PERSON
    attributes = await journey.search_attributes()
    assert attributes.get(search.SERVICE_CENTER) == "mfc-77-001"


# --- only our services command a registration (service/attestation.py) ----------------------


async def test_a_signal_without_a_proof_is_dropped(journey: Journey) -> None:
    await journey.reach_identity_stage()
    bare = journey.env.client.get_workflow_handle_for(RegistrationWorkflow.run, journey.id)
    await bare.signal(RegistrationWorkflow.clerk_confirmation, CLERK)  # no proof on it
    await journey.env.sleep(timedelta(seconds=1))
    view = await journey.state()
    assert view.stage is Stage.IDENTITY and view.identity_confirmed_by is None
    verdict = await journey.update(RegistrationWorkflow.confirm_in_person, CLERK)
    assert verdict.confirmed, "the same confirmation, sent by our service, is taken"


async def test_an_update_without_a_proof_is_refused(journey: Journey) -> None:
    await journey.confirm_contact()
    bare = journey.env.client.get_workflow_handle_for(RegistrationWorkflow.run, journey.id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        forged = Cancel(actor="support:someone", reason="forged")
        await bare.execute_update(RegistrationWorkflow.cancel, forged)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "unattested"
    assert await accepted_updates(journey.handle) == 1, "only the contact code was accepted"


async def test_a_run_started_without_a_proof_fails_before_it_does_anything(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    registration_id = f"reg-{uuid.uuid4().hex}"
    world.started.append(registration_id)
    handle = await env.client.start_workflow(
        RegistrationWorkflow.run,
        RegistrationInput(
            registration_id=registration_id,
            person=Person(surname="Иванова", name="Мария"),
            contact=Contact(channel="sms", address="+79123456789"),
        ),
        id=registration_id,
        task_queue=task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert world.store == [] and world.audit == [] and world.calls["send_contact_code"] == 0


# --- cancellation and continue-as-new ---------------------------------------------------------


async def test_support_cancels_a_registration(journey: Journey) -> None:
    await journey.confirm_contact()
    done = await journey.update(
        RegistrationWorkflow.cancel, Cancel(actor="support:anna", reason="duplicate")
    )
    assert done.stage is Stage.CANCELLED
    result = await journey.result()
    assert result.stage is Stage.CANCELLED
    closed = [e for e in journey.world.audit if e.event == "cancelled"]
    assert closed[0].actor == "support:anna" and closed[0].details["reason"] == "duplicate"
    assert (await journey.handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_temporal_cancellation_closes_the_registration(journey: Journey) -> None:
    await journey.confirm_contact()
    await journey.handle.cancel()
    desc = None
    for _ in range(50):
        desc = await journey.handle.describe()
        if desc.status is not WorkflowExecutionStatus.RUNNING:
            break
        await journey.env.sleep(timedelta(seconds=1))
    assert desc is not None and desc.status is WorkflowExecutionStatus.CANCELED
    assert journey.world.store[-1][0] == "close_registration"


async def test_continue_as_new_carries_the_state(
    env: WorkflowEnvironment, world: World, task_queue: str
) -> None:
    journey = await start(env, world, task_queue, policy=Policy(max_history_events=20))
    first_run = (await journey.handle.describe()).run_id
    await journey.confirm_contact()
    await journey.set_password()
    for _ in range(3):
        await journey.refused(
            RegistrationWorkflow.submit_profile,
            SubmitProfile(profile=PROFILE.model_copy(update={"snils": "1"})),
        )
    await journey.env.sleep(timedelta(days=90))
    view = await journey.state()
    assert (await journey.handle.describe()).run_id != first_run
    assert view.stage is Stage.PROFILE and view.level is Level.SIMPLIFIED
    await journey.submit_profile()
    await journey.wait_for(Stage.IDENTITY)
    seqs = sorted(e.seq for e in world.audit if e.registration_id == journey.id)
    assert seqs == list(range(1, len(seqs) + 1)), "audit numbering continues across runs"


async def test_the_stand_in_world_stands_in_for_every_real_activity(world: World) -> None:
    def names(functions: list[Any]) -> set[str]:
        return {activity._Definition.must_from_callable(fn).name or "" for fn in functions}

    async with build_activities(Settings(code_secret="x"), None) as real:  # type: ignore[arg-type]
        assert names(world.activities()) == names(real)


# --- support: what the Temporal UI shows, and extending deadlines -----------------------------


async def test_support_sees_the_pending_agencies_in_search_attributes_and_plain_words(
    journey: Journey,
) -> None:
    journey.world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=None)
    await journey.confirm_contact()
    assert "waiting for the citizen to set a password" in await journey.current_details()
    await journey.set_password()
    await journey.submit_profile()
    await journey.env.sleep(timedelta(hours=2))
    attributes = await journey.search_attributes()
    assert attributes.get(search.STAGE) == "verification"
    assert attributes.get(search.PENDING_AGENCY) == ["pension_fund"], "MVD has answered"
    pending_since = attributes.get(search.PENDING_SINCE)
    assert pending_since is not None
    assert attributes.get(search.PROFILE_VERSION) == 1
    assert attributes.get(search.NEEDS_ATTENTION) is False
    assert attributes.get(search.ATTENTION) is None
    details = await journey.current_details()
    assert details.startswith(
        f"Waiting for the Pension Fund answer since {pending_since:%Y-%m-%d %H:%M} UTC"
    )
    assert "extend_deadline" in details and "retry_checks" in details
    assert (await journey.state()).summary == details


async def test_support_extends_the_verification_deadline(journey: Journey) -> None:
    journey.world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    before = (await journey.state()).verification_deadline
    assert before is not None
    await journey.env.sleep(timedelta(days=9))
    extended = await journey.update(
        RegistrationWorkflow.extend_deadline,
        ExtendDeadline(actor="support:anna", reason="PFR outage", deadline="verification", days=5),
    )
    assert extended.until == before + timedelta(days=5)
    await journey.env.sleep(timedelta(days=3))  # day 12: past the first deadline
    view = await journey.state()
    assert view.stage is Stage.VERIFICATION and view.verification_deadline == extended.until
    await journey.env.sleep(timedelta(days=3, hours=1))  # day 15: past the extended one
    view = await journey.wait_for(Stage.PROFILE)
    assert view.last_rejection is not None and view.last_rejection.code == "verification_timeout"
    entry = next(e for e in journey.world.audit if e.event == "deadline_extended")
    assert entry.actor == "support:anna" and entry.details["reason"] == "PFR outage"
    assert entry.details["deadline"] == "verification" and entry.details["days"] == 5


async def test_support_extends_the_letter_code(journey: Journey) -> None:
    await journey.reach_identity_stage()
    action = {"actor": "support:oleg", "reason": "citizen in hospital", "deadline": "letter_code"}
    refusal = await journey.refused(
        RegistrationWorkflow.extend_deadline, ExtendDeadline(**action, days=7)
    )
    assert refusal.type == Refusal.NO_ACTIVE_CODE
    await journey.update(
        RegistrationWorkflow.choose_method, ChooseMethod(method="letter", address=ADDRESS)
    )
    assert (
        await journey.refused(
            RegistrationWorkflow.extend_deadline, ExtendDeadline(**action, days=0)
        )
    ).type == ("invalid_input")
    assert (
        await journey.refused(
            RegistrationWorkflow.extend_deadline, ExtendDeadline(**action, days=31)
        )
    ).type == ("invalid_input")
    await journey.env.sleep(timedelta(days=29))
    extended = await journey.update(
        RegistrationWorkflow.extend_deadline, ExtendDeadline(**action, days=7)
    )
    await journey.env.sleep(timedelta(days=2))  # day 31: the code would have expired
    view = await journey.state()
    assert view.letter is not None and view.letter.code_expires_at == extended.until
    code = journey.world.code_hash(
        journey.id, Purpose.LETTER, journey.world.letter_code(journey.id, 1)
    )
    verdict = await journey.update(
        RegistrationWorkflow.submit_letter_code, SubmitCode(code_hash=code)
    )
    assert verdict.accepted
    assert (await journey.result()).method is ConfirmationMethod.LETTER


async def test_verification_deadline_cannot_be_extended_outside_verification(
    journey: Journey,
) -> None:
    request = ExtendDeadline(actor="support:anna", reason="x", deadline="verification", days=3)
    assert (
        await journey.refused(RegistrationWorkflow.extend_deadline, request)
    ).type == Refusal.WRONG_STAGE
    no_actor = request.model_copy(update={"actor": ""})
    assert (
        await journey.refused(RegistrationWorkflow.extend_deadline, no_actor)
    ).type == Refusal.INVALID_INPUT


async def test_a_cancel_during_verification_logs_no_error(
    journey: Journey, caplog: pytest.LogCaptureFixture
) -> None:
    """Cancelling stops the agency checks; that is expected, so nothing is logged as an
    error (it once logged "Task exception was never retrieved … Activity cancelled" twice)."""
    journey.world.agencies[Agency.PENSION_FUND] = AgencyScript(pending=None)
    journey.world.agencies[Agency.MVD] = AgencyScript(pending=None)
    await journey.confirm_contact()
    await journey.set_password()
    await journey.submit_profile()
    await journey.env.sleep(timedelta(minutes=5))  # both agencies asked, neither answers

    with caplog.at_level(logging.WARNING):
        await journey.update(
            RegistrationWorkflow.cancel, Cancel(actor="support:anna", reason="asked to")
        )
        assert (await journey.result()).stage is Stage.CANCELLED
        gc.collect()  # unretrieved task exceptions are reported when the task is collected
        await asyncio.sleep(0.1)

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
