"""The registration journey: one workflow execution per citizen, from contact to confirmed.

Reading order: `run` walks the stages; each stage is a method that waits for the citizen (or an
agency, a clerk, a bank) and returns when the stage changes. Update and signal handlers *decide*
(and answer the caller at once); the main loop *performs* what follows from a decision (audit
trail, store writes, notifications), so a decision is durable the moment it is made.

A handler checks the stage and the session, asks the rule, and records the outcome. The rules
are pure modules in `registration/` (`contact_code`, `letters`, `confirmations`, `identity`),
each with its own part of the state; patches are in `workflows/patches.py`, activity options
in `workflows/options.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.agencies import AgencyActivities
    from activities.esignature import SignatureActivities
    from activities.messaging import MessagingActivities
    from activities.post import PostActivities
    from activities.store import StoreActivities
    from registration import confirmations, contact_code, errors, letters
    from registration.confirmations import Confirmation
    from registration.errors import NOT_CONFIRMED, ConfirmationRefusal, Refusal
    from registration.identity import compare_certificate, compare_documents, compare_identity
    from registration.letters import LetterEvent
    from registration.models import (
        ActivatePassword,
        Agency,
        AgencyCheck,
        Attention,
        AuditEntry,
        BankConfirmation,
        BindSession,
        Cancel,
        CheckResult,
        ChooseMethod,
        ClerkConfirmation,
        CloseRegistration,
        CodeSentView,
        CodeVerdict,
        ConfirmationMethod,
        ConfirmationVerdict,
        ConfirmIdentity,
        Deadline,
        DeadlineExtended,
        ExtendDeadline,
        InnResult,
        Level,
        MethodChosen,
        Notice,
        Notify,
        OpenRegistration,
        OrderLetter,
        PasswordSet,
        PostalAddress,
        Profile,
        RegistrationInput,
        RegistrationResult,
        RegistrationView,
        Rejection,
        RejectionCode,
        RequestNewCode,
        SaveVerifiedProfile,
        SendContactCode,
        SignatureCheck,
        Stage,
        StepDone,
        SubmitCode,
        SubmitProfile,
        SubmitSignature,
        SupportAction,
        TrackLetter,
        VerifySignature,
    )
    from registration.validators import (
        normalize_postal_address,
        validate_free_text,
        validate_profile,
    )
    from workflows import agencies
    from workflows import search_attributes as search
    from workflows.details import describe
    from workflows.options import BACKGROUND, INTERACTIVE, STORE, TRACKING, ActivityOptions
    from workflows.patches import (
        CONFIRMATION_LIMITS,
        SESSIONS,
        SIGNATURE_CHALLENGE,
        SUPPORT_VIEW,
    )
    from workflows.refusals import as_update_failure, failure_type, refuse
    from workflows.state import RegistrationState
    from workflows.views import claim_view, full_view


class Wake(Enum):
    """Why a wait ended."""

    DONE = "done"  # the awaited condition holds
    TIMEOUT = "timeout"  # the deadline passed first
    INTERRUPTED = "interrupted"  # cancellation, or time to continue as new


# A verification that failed for a reason of ours or the agency's, not the citizen's data.
ATTENTION_ON_MISMATCH: dict[str, Attention] = {
    RejectionCode.VERIFICATION_TIMEOUT: Attention.VERIFICATION_TIMEOUT,
    RejectionCode.REQUEST_REJECTED: Attention.AGENCY_REQUEST_REJECTED,
}


@workflow.defn(name="Registration")
class RegistrationWorkflow:
    @workflow.init
    def __init__(self, input: RegistrationInput) -> None:
        self._id = input.registration_id
        self._input = input
        self._policy = input.policy
        now = workflow.now()
        if input.carried is not None:
            self._state = RegistrationState.model_validate(input.carried)
            self._state.runs += 1
        else:
            self._state = RegistrationState(started_at=now, stage_entered_at=now)
        self._lock = asyncio.Lock()
        self._binding: str | None = None
        """The session being bound right now (`_bind_session`): no other one takes a step."""
        self._cancel: Cancel | None = None
        self._retry_checks = False
        self._opened = input.carried is not None

    # --- the journey ----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: RegistrationInput) -> RegistrationResult:
        stages: dict[Stage, Callable[[], Awaitable[None]]] = {
            Stage.CONTACT: self._confirm_contact,
            Stage.PASSWORD: self._collect_password,
            Stage.PROFILE: self._collect_profile,
            Stage.VERIFICATION: self._verify_profile,
            Stage.IDENTITY: self._confirm_identity,
        }
        try:
            if input.carried is None:
                self._publish()
                await self._open()
                self._opened = True
            while not self._state.stage.is_final:
                await stages[self._state.stage]()
                if self._cancel is not None and not self._state.stage.is_final:
                    await self._finish(
                        Stage.CANCELLED, "cancelled", self._cancel.actor, reason=self._cancel.reason
                    )
                elif self._should_continue_as_new():
                    await self._continue_as_new()
        except asyncio.CancelledError:
            # Cancelled from Temporal itself (UI, CLI): close the books, then end as cancelled.
            await self._finish(
                Stage.CANCELLED, "cancelled", "temporal", reason="workflow cancelled"
            )
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RegistrationResult(
            stage=self._state.stage, level=self._state.level, method=self._state.method
        )

    async def _open(self) -> None:
        try:
            await workflow.execute_activity_method(
                StoreActivities.open_registration,
                OpenRegistration(
                    registration_id=self._id,
                    contact=self._input.contact,
                    person=self._input.person,
                    audit=self._audit_entry(
                        "registration_started", channel=self._input.contact.channel
                    ),
                ),
                **STORE,
            )
        except ActivityError as error:
            if failure_type(error) != errors.CONTACT_ALREADY_REGISTERED:
                raise
            self._reject(
                RejectionCode.CONTACT_ALREADY_REGISTERED, "An account with this contact exists"
            )
            self._enter(Stage.REFUSED)
            return
        try:
            await self._send_code(INTERACTIVE)
        except ActivityError as error:
            if failure_type(error) == errors.DELIVERY_REJECTED:
                self._reject(
                    RejectionCode.CONTACT_UNREACHABLE,
                    "The code could not be delivered to this contact",
                )
                await self._finish(Stage.REFUSED, "contact_unreachable")
            # Otherwise (the gateway is down, or the contact's code budget across
            # registrations is spent) the citizen asks for a new code later.

    async def _confirm_contact(self) -> None:
        deadline = self._state.started_at + self._policy.contact_deadline
        wake = await self._wait(lambda: self._state.stage is not Stage.CONTACT, until=deadline)
        if wake is Wake.TIMEOUT:
            await self._finish(Stage.EXPIRED, "contact_not_confirmed")

    async def _collect_password(self) -> None:
        await self._wait(lambda: self._state.stage is not Stage.PASSWORD)

    async def _collect_profile(self) -> None:
        # The citizen may come back months later: no deadline, just a durable wait.
        await self._wait(lambda: self._state.stage is not Stage.PROFILE)

    async def _verify_profile(self) -> None:
        state = self._state
        while True:
            # Re-read each round: support may have extended the deadline (extend_deadline).
            deadline = state.verification_deadline or workflow.now()
            checks = asyncio.ensure_future(self._run_checks(deadline))
            interrupted = asyncio.ensure_future(
                workflow.wait_condition(lambda: self._cancel is not None or self._retry_checks)
            )
            await workflow.wait([checks, interrupted], return_when=asyncio.FIRST_COMPLETED)
            if checks.done():
                interrupted.cancel()
                break
            checks.cancel()
            state.pending_checks = []
            state.pending_since = None
            if self._cancel is not None:
                return
            # Support asked to retry now: ask again at once instead of after the backoff.
            self._retry_checks = False
            await self._flush_audit()
        mismatch = checks.result()
        if mismatch is not None:
            code = mismatch.reason_code or RejectionCode.MISMATCH
            self._reject(code, mismatch.reason or "The agencies did not confirm the data")
            self._enter(
                Stage.PROFILE,
                "verification_failed",
                attention=ATTENTION_ON_MISMATCH.get(code),
                agency=mismatch.agency,
                reason=code,
            )
            await self._notify(
                Notice.VERIFICATION_FAILED, f"verification-failed:{state.profile_version}"
            )
            return
        inn = await self._lookup_inn()
        await workflow.execute_activity_method(
            StoreActivities.save_verified_profile,
            SaveVerifiedProfile(
                registration_id=self._id,
                profile=self._verified_profile(),
                inn=inn.inn,
                audit=self._audit_entry("verified", inn_found=inn.found),
            ),
            **STORE,
        )
        state.inn_found = inn.found
        state.level = Level.STANDARD
        state.last_rejection = None
        state.signature_challenge = self._new_signature_challenge()
        self._enter(Stage.IDENTITY)
        await self._notify(Notice.STANDARD_GRANTED, "standard-granted")

    async def _confirm_identity(self) -> None:
        events = {
            LetterEvent.EXPIRE: self._expire_letter,
            LetterEvent.TRACK: self._refresh_tracking,
            LetterEvent.REMIND: self._remind_letter,
        }
        while self._state.stage is Stage.IDENTITY and self._state.confirmations.decided is None:
            due, event = letters.next_event(self._state.letter)
            wake = await self._wait(self._decided_or_letter_moved(due), until=due)
            if wake is Wake.INTERRUPTED:
                return
            if wake is Wake.TIMEOUT and event is not None:
                await events[event]()
        confirmation = self._state.confirmations.decided
        if confirmation is None:
            return
        await workflow.execute_activity_method(
            StoreActivities.confirm_identity,
            ConfirmIdentity(
                registration_id=self._id,
                method=confirmation.method,
                # A letter-confirmed identity gets no tax-cabinet access (DOMAIN.md, seeds 000/003).
                tax_cabinet_access=confirmation.method is not ConfirmationMethod.LETTER,
                audit=self._audit_entry(
                    "identity_confirmed",
                    confirmation.actor,
                    method=confirmation.method,
                    **confirmation.details,
                ),
            ),
            **STORE,
        )
        self._state.method = confirmation.method
        self._state.level = Level.CONFIRMED
        self._enter(Stage.CONFIRMED)
        await self._notify(Notice.CONFIRMED, "confirmed")

    def _decided_or_letter_moved(self, due: datetime | None) -> Callable[[], bool]:
        """Wake the identity stage: a confirmation was decided, or the letter's next event
        moved (a new letter, a deadline extended)."""
        return lambda: (
            self._state.confirmations.decided is not None
            or letters.next_event(self._state.letter)[0] != due
        )

    # --- citizen input: contact code ----------------------------------------------------------

    @workflow.update(name="submit_contact_code")
    async def submit_contact_code(self, request: SubmitCode) -> CodeVerdict:
        """Judge a code (its keyed hash): accepted, or wrong with the attempts left. The session
        that enters the right code owns the registration from then on; every other session is
        revoked (at the contact stage, or later: the contact's holder takes it over)."""
        if not self._opened:
            # A fast client can type before the first code's send has been recorded.
            await workflow.wait_condition(lambda: self._opened)
            self._check_contact_code(request)
        if request.session_id is None or not workflow.patched(SESSIONS):
            return self._judge_contact_code(request)
        async with self._lock:
            self._check_contact_code(request)  # again: another entry may have come first
            if request.code_hash == self._state.code.code_hash:
                await self._bind_session(request.session_id)
            return self._judge_contact_code(request)

    def _judge_contact_code(self, request: SubmitCode) -> CodeVerdict:
        state, now = self._state, workflow.now()
        judged = contact_code.judge(state.code, request.code_hash, now, self._policy)
        if judged.accepted:
            if request.session_id is not None:
                state.owner_session = request.session_id
            if state.stage is Stage.CONTACT:
                self._enter(Stage.PASSWORD, "contact_confirmed")
            return CodeVerdict(accepted=True, attempts_left=judged.attempts_left, stage=state.stage)
        if judged.locked_until is not None:
            self._record("contact_locked", locked_until=judged.locked_until.isoformat())
        return CodeVerdict(
            accepted=False,
            attempts_left=judged.attempts_left,
            code_burnt=judged.burnt,
            locked_until=state.code.lock(now),
            # A session proving the contact anew learns nothing of where the registration is.
            stage=state.stage if request.session_id == state.owner_session else Stage.CONTACT,
        )

    @submit_contact_code.validator
    def _check_contact_code(self, request: SubmitCode) -> None:
        self._require_contact_proof(request.session_id)
        with as_update_failure():
            contact_code.check_entry(
                self._state.code, request.code_hash, workflow.now(), sent=self._opened
            )

    @workflow.update(name="request_new_code")
    async def request_new_code(self, request: RequestNewCode) -> CodeSentView:
        """Send a new code (the old one stops working), within cooldown and daily caps."""
        await workflow.wait_condition(lambda: self._opened)
        async with self._lock:
            self._check_new_code(request)  # again: the first send or another request came first
            try:
                expires_at = await self._send_code(INTERACTIVE)
            except ActivityError as error:
                if failure_type(error) == errors.CONTACT_SEND_LIMIT:
                    retry_at = errors.send_limit_retry_at(
                        getattr(error.cause, "details", ()),
                        fallback=workflow.now() + self._policy.resend_cooldown,
                    )
                    refuse(
                        Refusal.RESEND_LIMIT,
                        "Too many codes sent to this contact: a new one can be requested at "
                        f"{retry_at:%Y-%m-%d %H:%M:%S} UTC",
                        retry_at=retry_at.isoformat(),
                    )
                refuse(Refusal.DELIVERY_FAILED, "The code could not be sent: try again shortly")
            state, now = self._state, workflow.now()
            if state.stage is not Stage.CONTACT:
                self._record("contact_reproof_requested", "citizen", session_id=request.session_id)
            return CodeSentView(
                channel=self._input.contact.channel,
                code_expires_at=expires_at,
                next_code_allowed_at=contact_code.next_send_allowed_at(
                    state.code, state.stage_entered_at, self._policy
                ),
                resends_left_today=contact_code.sends_left_today(state.code, now, self._policy),
            )

    @request_new_code.validator
    def _check_new_code(self, request: RequestNewCode) -> None:
        self._require_contact_proof(request.session_id)
        state, now = self._state, workflow.now()
        with as_update_failure():
            contact_code.check_unlocked(state.code, now)
            if self._opened:  # else judged once the first code is out
                contact_code.check_send(state.code, state.stage_entered_at, now, self._policy)

    # --- citizen input: password and profile -----------------------------------------------

    @workflow.update(name="password_set")
    async def password_set(self, request: PasswordSet) -> StepDone:
        """The caller staged the password's hash in the store; activate the account."""
        async with self._lock:
            self._require_stage(Stage.PASSWORD)
            self._require_owner(request.session_id)  # again: a takeover may have come first
            try:
                await workflow.execute_activity_method(
                    StoreActivities.activate_password,
                    ActivatePassword(
                        registration_id=self._id,
                        contact=self._input.contact,
                        person=self._input.person,
                        audit=self._audit_entry("password_set"),
                        staged_id=request.staged_id,
                    ),
                    **INTERACTIVE,
                )
            except ActivityError as error:
                if failure_type(error) == errors.PASSWORD_NOT_STAGED:
                    refuse(
                        Refusal.PASSWORD_NOT_STAGED, "No password was stored for this registration"
                    )
                if failure_type(error) == errors.CONTACT_ALREADY_REGISTERED:
                    refuse(Refusal.ALREADY_FINISHED, "An account with this contact exists already")
                refuse(Refusal.UNAVAILABLE, "The account store did not answer: try again")
            self._state.level = Level.SIMPLIFIED
            self._enter(Stage.PROFILE)
            return StepDone(stage=self._state.stage, level=self._state.level)

    @password_set.validator
    def _check_password_set(self, request: PasswordSet) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.PASSWORD)

    @workflow.update(name="submit_profile")
    def submit_profile(self, request: SubmitProfile) -> StepDone:
        """Accept a (corrected) profile and start the automatic verification."""
        state = self._state
        state.profile = validate_profile(request.profile, workflow.now().date())
        state.profile_version += 1
        state.verification_deadline = workflow.now() + self._policy.verification_deadline
        self._enter(Stage.VERIFICATION, "profile_submitted", version=state.profile_version)
        return StepDone(stage=state.stage, level=state.level)

    @submit_profile.validator
    def _check_profile(self, request: SubmitProfile) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.PROFILE)
        with as_update_failure():
            validate_profile(request.profile, workflow.now().date())

    # --- identity confirmation ----------------------------------------------------------------

    @workflow.update(name="choose_method")
    async def choose_method(self, request: ChooseMethod) -> MethodChosen:
        """Record the chosen method; for a letter, order it and answer with its tracking number."""
        async with self._lock:
            self._check_method(request)
            if request.method is ConfirmationMethod.LETTER and request.address is not None:
                await self._order_letter(request.address)  # refuses, recording nothing, if it fails
            self._state.method = request.method
            self._record("method_chosen", method=request.method)
            self._publish_change()
            return MethodChosen(
                method=request.method, letter=letters.view(self._state.letter, self._policy)
            )

    @choose_method.validator
    def _check_method(self, request: ChooseMethod) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.IDENTITY)
        if request.method is ConfirmationMethod.LETTER:
            with as_update_failure():
                letters.check_order(
                    self._state.letter, request.address, workflow.now(), self._policy
                )

    @workflow.update(name="submit_letter_code")
    def submit_letter_code(self, request: SubmitCode) -> CodeVerdict:
        """Judge the code from the registered letter."""
        letter = self._state.letter
        judged = letters.judge(letter, request.code_hash, workflow.now(), self._policy)
        if judged.accepted:
            tracking_number = letter.tracking_number or ""
            self._decide(
                Confirmation(
                    method=ConfirmationMethod.LETTER,
                    actor="citizen",
                    details={"tracking_number": tracking_number},
                )
            )
        elif judged.locked_until is not None:
            self._record("letter_code_locked", locked_until=judged.locked_until.isoformat())
        return CodeVerdict(
            accepted=judged.accepted,
            attempts_left=judged.attempts_left,
            locked_until=judged.locked_until,
            stage=self._state.stage,
        )

    @submit_letter_code.validator
    def _check_letter_code(self, request: SubmitCode) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.IDENTITY)
        with as_update_failure():
            letters.check_entry(self._state.letter, request.code_hash, workflow.now())

    @workflow.update(name="submit_signature")
    async def submit_signature(self, request: SubmitSignature) -> ConfirmationVerdict:
        """Verify a confirmation request signed with a qualified e-signature: confirmed, or
        refused without saying why (the audit trail says it)."""
        async with self._lock:
            self._require_stage(Stage.IDENTITY)
            try:
                check = await workflow.execute_activity_method(
                    SignatureActivities.verify_signature,
                    VerifySignature(
                        registration_id=self._id, signed_request=request.signed_request
                    ),
                    **INTERACTIVE,
                )
            except ActivityError:
                refuse(Refusal.UNAVAILABLE, "The signature service did not answer: try again")
            self._require_confirmable()  # a clerk or bank may have decided meanwhile
            if not check.valid:
                return self._refuse_signature(
                    ConfirmationRefusal.SIGNATURE_INVALID,
                    check.reason or "invalid",
                    signature_reason=check.reason or "invalid",
                )
            if not self._signed_our_challenge(check):
                return self._refuse_signature(
                    ConfirmationRefusal.SIGNATURE_OTHER_CHALLENGE,
                    "The signed request is not over this registration's challenge",
                )
            mismatched = compare_certificate(self._verified_profile(), check)
            if mismatched:
                return self._refuse_signature(
                    ConfirmationRefusal.SIGNATURE_OTHER_PERSON,
                    "The certificate belongs to another person",
                    mismatched=mismatched,
                )
            self._state.signature_challenge = None  # used: it confirms nothing else
            return self._confirmed(
                Confirmation(method=ConfirmationMethod.ESIGNATURE, actor="citizen")
            )

    @submit_signature.validator
    def _check_signature(self, request: SubmitSignature) -> None:
        self._require_confirmable()
        if not request.signed_request or len(request.signed_request) > 65_536:
            refuse(
                Refusal.INVALID_INPUT,
                "The signed request must be 1 to 65536 characters",
                field="signed_request",
            )

    def _signed_our_challenge(self, check: SignatureCheck) -> bool:
        """A signature confirms this registration only over its current challenge, which names
        the registration and a random nonce: a request signed once cannot be replayed on
        another registration of the same person. A registration that reached the identity
        stage before challenges gets one now (and this signature is refused)."""
        if not workflow.patched(SIGNATURE_CHALLENGE):
            return True
        state = self._state
        if state.signature_challenge is None:
            state.signature_challenge = self._new_signature_challenge()
            return False
        return check.challenge == state.signature_challenge

    def _new_signature_challenge(self) -> str:
        return f"gosreg-identity:{self._id}:{workflow.uuid4().hex}"

    def _refuse_signature(
        self, refusal: ConfirmationRefusal, reason: str, **details: Any
    ) -> ConfirmationVerdict:
        """`reason` is what registrations from before CONFIRMATION_LIMITS answered."""
        if not workflow.patched(CONFIRMATION_LIMITS):
            return self._list_refusal(refusal, reason, "citizen")
        return self._refuse_confirmation(refusal, NOT_CONFIRMED, "citizen", **details)

    @workflow.update(name="confirm_in_person")
    def confirm_in_person(self, seen: ClerkConfirmation) -> ConfirmationVerdict:
        """A service-center clerk checked the passport and SNILS in person: confirmed, or refused
        naming the documents that differ (the clerk holds them and may tell the person)."""
        return self._judge_clerk(seen)

    @confirm_in_person.validator
    def _check_in_person(self, seen: ClerkConfirmation) -> None:
        self._require_confirmable()

    @workflow.update(name="confirm_by_bank")
    def confirm_by_bank(self, vouched: BankConfirmation) -> ConfirmationVerdict:
        """The citizen's bank vouches for an identity it verified itself: confirmed, or refused
        without saying what differs (the audit trail says it)."""
        return self._judge_bank(vouched)

    @confirm_by_bank.validator
    def _check_by_bank(self, vouched: BankConfirmation) -> None:
        self._require_confirmable()

    @workflow.signal(name="clerk_confirmation")
    def clerk_confirmation(self, seen: ClerkConfirmation) -> None:
        """`confirm_in_person` as a signal, as callers sent it before the update existed: judged
        the same way when a confirmation is due, ignored (nothing written) when not."""
        if workflow.patched(CONFIRMATION_LIMITS):
            if self._confirmation_due():
                self._judge_clerk(seen)
            return
        self._state.service_center_id = seen.service_center_id
        if self._may_confirm(f"clerk:{seen.clerk_id}"):
            self._judge_clerk(seen, limits=False)

    @workflow.signal(name="bank_confirmation")
    def bank_confirmation(self, vouched: BankConfirmation) -> None:
        """`confirm_by_bank` as a signal, as callers sent it before the update existed."""
        if workflow.patched(CONFIRMATION_LIMITS):
            if self._confirmation_due():
                self._judge_bank(vouched)
            return
        if self._may_confirm(f"bank:{vouched.bank_id}"):
            self._judge_bank(vouched, limits=False)

    def _judge_clerk(self, seen: ClerkConfirmation, *, limits: bool = True) -> ConfirmationVerdict:
        actor = f"clerk:{seen.clerk_id}"
        where = {"clerk_id": seen.clerk_id, "service_center_id": seen.service_center_id}
        self._state.service_center_id = seen.service_center_id
        mismatched = compare_documents(self._verified_profile(), seen)
        if not mismatched:
            return self._confirmed(
                Confirmation(method=ConfirmationMethod.IN_PERSON, actor=actor, details=where)
            )
        refusal = ConfirmationRefusal.DOCUMENTS_MISMATCH
        told = "Documents do not match: " + ", ".join(mismatched)
        if not limits:
            return self._list_refusal(refusal, told, actor, **where)
        return self._refuse_confirmation(refusal, told, actor, mismatched=mismatched, **where)

    def _judge_bank(self, vouched: BankConfirmation, *, limits: bool = True) -> ConfirmationVerdict:
        actor, where = f"bank:{vouched.bank_id}", {"bank_id": vouched.bank_id}
        mismatched = compare_identity(self._verified_profile(), vouched)
        if not mismatched:
            return self._confirmed(
                Confirmation(method=ConfirmationMethod.BANK, actor=actor, details=where)
            )
        refusal = ConfirmationRefusal.IDENTITY_MISMATCH
        if not limits:
            told = "Bank data do not match: " + ", ".join(mismatched)
            return self._list_refusal(refusal, told, actor)
        return self._refuse_confirmation(refusal, NOT_CONFIRMED, actor, mismatched=mismatched)

    def _require_confirmable(self) -> None:
        """A clerk, bank or e-signature confirmation is judged only at the identity stage, until
        one is decided, and not while too many refusals have locked confirmation."""
        self._require_stage(Stage.IDENTITY)
        with as_update_failure():
            confirmations.check_open(self._state.confirmations, workflow.now())

    def _confirmation_due(self) -> bool:
        """`_require_confirmable` for a signal, which cannot be answered: true or false."""
        try:
            self._require_confirmable()
        except ApplicationError:
            return False
        return True

    def _refuse_confirmation(
        self, refusal: ConfirmationRefusal, told: str, actor: str, **details: Any
    ) -> ConfirmationVerdict:
        """Refuse a confirmation judged at the identity stage. The caller is `told` that much;
        the audit trail gets `details` (which fields differ). Too many refusals lock
        confirmation and ask support to look (`registration.confirmations`)."""
        state = self._state
        refused = confirmations.refuse(
            state.confirmations, refusal, told, workflow.now(), self._policy
        )
        self._record("confirmation_refused", actor, reason=refusal, **details)
        if refused.locked_until is None:
            if state.attention is not Attention.CONFIRMATION_LOCKED:  # the stronger word stays
                self._flag(Attention.CONFIRMATION_REFUSED)
        else:
            self._record(
                "confirmation_locked",
                refused=refused.count,
                locked_until=refused.locked_until.isoformat(),
            )
            self._flag(Attention.CONFIRMATION_LOCKED)
        return ConfirmationVerdict(
            confirmed=False, reason=told, stage=state.stage, locked_until=refused.locked_until
        )

    def _may_confirm(self, actor: str) -> bool:
        """Before CONFIRMATION_LIMITS: a confirmation out of its stage was refused and listed."""
        if self._state.stage is Stage.IDENTITY and self._state.confirmations.decided is None:
            return True
        self._list_refusal(
            ConfirmationRefusal.NOT_AWAITING,
            f"The registration is at stage {self._state.stage}",
            actor,
        )
        return False

    def _list_refusal(
        self, refusal: ConfirmationRefusal, told: str, actor: str, **details: Any
    ) -> ConfirmationVerdict:
        """Before CONFIRMATION_LIMITS: every refusal was listed, recorded and flagged, uncounted."""
        confirmations.list_refusal(self._state.confirmations, refusal, told, workflow.now())
        self._record("confirmation_refused", actor, reason=refusal, **details)
        self._flag(Attention.CONFIRMATION_REFUSED)
        return ConfirmationVerdict(confirmed=False, reason=told, stage=self._state.stage)

    def _decide(self, confirmation: Confirmation) -> None:
        self._state.confirmations.decided = confirmation

    def _confirmed(self, confirmation: Confirmation) -> ConfirmationVerdict:
        """Decide for `confirmation`: durable now; the main loop writes it down and the
        registration is confirmed, which is what the caller is told."""
        self._decide(confirmation)
        return ConfirmationVerdict(confirmed=True, stage=Stage.CONFIRMED)

    # --- support ------------------------------------------------------------------------------

    @workflow.update(name="cancel")
    def cancel(self, request: Cancel) -> StepDone:
        """End the registration; the store and the audit trail say who cancelled and why."""
        self._cancel = request
        return StepDone(stage=Stage.CANCELLED, level=self._state.level)

    @cancel.validator
    def _check_cancel(self, request: Cancel) -> None:
        self._require_owner(request.session_id)
        if self._state.stage.is_final or self._cancel is not None:
            refuse(Refusal.ALREADY_FINISHED, f"The registration is already {self._state.stage}")
        self._require_actor(request)

    @workflow.update(name="retry_checks")
    def retry_checks(self, request: SupportAction) -> StepDone:
        """Support: ask the agencies again now, not when the backoff says."""
        self._retry_checks = True
        self._record("checks_retried", request.actor, reason=request.reason)
        return StepDone(stage=self._state.stage, level=self._state.level)

    @retry_checks.validator
    def _check_retry_checks(self, request: SupportAction) -> None:
        self._require_stage(Stage.VERIFICATION)
        self._require_actor(request)

    @workflow.update(name="resend_letter")
    async def resend_letter(self, request: SupportAction) -> MethodChosen:
        """Support: order the letter again to the same address, whatever the re-order limits
        (the citizen called; a person decided). Recorded with who did it."""
        async with self._lock:
            self._check_resend_letter(request)
            address = self._state.letter.address
            if address is not None:  # the validator says so
                await self._order_letter(address)
            self._record("letter_resent", request.actor, reason=request.reason)
            self._publish_change()
            return MethodChosen(
                method=ConfirmationMethod.LETTER,
                letter=letters.view(self._state.letter, self._policy),
            )

    @resend_letter.validator
    def _check_resend_letter(self, request: SupportAction) -> None:
        self._require_stage(Stage.IDENTITY)
        self._require_actor(request)
        if self._state.letter.address is None:
            refuse(Refusal.METHOD_NOT_CHOSEN, "No letter was ordered: there is nothing to re-send")

    @workflow.update(name="extend_deadline")
    def extend_deadline(self, request: ExtendDeadline) -> DeadlineExtended:
        """Support: give the agencies (and ask them again now), or the letter code, more days."""
        state = self._state
        until = self._extended(request)
        if request.deadline is Deadline.VERIFICATION:
            state.verification_deadline = until
            self._retry_checks = True  # the running checks carry the old deadline
        else:
            state.letter.code_expires_at = until
        self._record(
            "deadline_extended",
            request.actor,
            reason=request.reason,
            deadline=request.deadline,
            days=request.days,
            until=until.isoformat(),
        )
        return DeadlineExtended(deadline=request.deadline, until=until)

    @extend_deadline.validator
    def _check_extend_deadline(self, request: ExtendDeadline) -> None:
        self._require_actor(request)
        longest = self._policy.max_deadline_extension.days
        if not 1 <= request.days <= longest:
            refuse(
                Refusal.INVALID_INPUT,
                f"A deadline can be extended by 1 to {longest} days at a time",
                field="days",
            )
        state = self._state
        if request.deadline is Deadline.VERIFICATION:
            self._require_stage(Stage.VERIFICATION)
            if Agency.FNS in state.pending_checks:
                refuse(
                    Refusal.WRONG_STAGE,
                    "The data is verified; only the INN lookup is running, on its own deadline",
                    stage=state.stage,
                )
            return
        self._require_stage(Stage.IDENTITY)
        if state.letter.code_hash is None:
            refuse(
                Refusal.NO_ACTIVE_CODE,
                "No letter code is active: re-send the letter instead (resend_letter)",
            )

    def _extended(self, request: ExtendDeadline) -> datetime:
        """The deadline `request` extends, `request.days` later (the validator made sure it
        is set: the verification's at its stage, the letter code's while one is active)."""
        state = self._state
        current = (
            state.verification_deadline
            if request.deadline is Deadline.VERIFICATION
            else state.letter.code_expires_at
        )
        if current is None:
            refuse(Refusal.WRONG_STAGE, f"No {request.deadline} deadline runs", stage=state.stage)
        return current + timedelta(days=request.days)

    @workflow.query(name="state")
    def state(self) -> RegistrationView:
        return self._view()

    @workflow.query(name="session_state")
    def session_state(self, session_id: str) -> RegistrationView:
        """The state as this citizen session may see it: all of it for the owner, and for
        everyone while the contact is unproven; only its own contact stage for any other."""
        state = self._state
        if state.stage is Stage.CONTACT or session_id == state.owner_session:
            return self._view()
        return claim_view(
            state, self._id, self._input.contact.channel, self._policy, workflow.now()
        )

    def _view(self) -> RegistrationView:
        view = full_view(
            self._state, self._id, self._input.contact.channel, self._policy, workflow.now()
        )
        if self._cancel is not None and not view.stage.is_final:
            # Decided, and being written down: a new start for the contact must not join it.
            return view.model_copy(update={"stage": Stage.CANCELLED})
        return view

    # --- who may act ----------------------------------------------------------------------------

    def _require_open(self) -> None:
        current = self._state.stage
        if self._cancel is not None or current.is_final:
            refuse(Refusal.ALREADY_FINISHED, f"The registration is already {current}")

    def _require_stage(self, stage: Stage) -> None:
        self._require_open()
        current = self._state.stage
        if current is not stage:
            refuse(
                Refusal.WRONG_STAGE,
                f"This step belongs to stage {stage}; the registration is at {current}",
                stage=current,
            )

    def _require_contact_proof(self, session_id: str | None) -> None:
        """Contact codes belong to the contact stage; later, only to a session other than the
        owner's, which proves the contact again to take the registration over."""
        state = self._state
        if state.stage is Stage.CONTACT or session_id is None:
            self._require_stage(Stage.CONTACT)
            return
        self._require_open()
        if session_id == state.owner_session:
            refuse(Refusal.WRONG_STAGE, "The contact is confirmed already", stage=state.stage)

    def _require_owner(self, session_id: str | None) -> None:
        """A citizen's step after the contact stage comes from the session that proved the
        contact (None: a caller without sessions, such as support's CLI)."""
        owner = self._state.owner_session
        if session_id is not None and self._binding not in (None, session_id):
            refuse(
                Refusal.SESSION_REVOKED,
                "The contact is being confirmed in another session: this one is losing the "
                "registration",
            )
        if session_id is None or session_id == owner:
            return
        if owner is None:
            refuse(
                Refusal.CONTACT_NOT_PROVEN,
                "Confirm the contact with the code sent to it before this step",
            )
        refuse(
            Refusal.SESSION_REVOKED,
            "This session no longer holds the registration: the contact was confirmed in another",
        )

    async def _bind_session(self, session_id: str) -> None:
        """Record in the store that `session_id` proved the contact, revoking the others, before
        the answer says so (the portal's next step is checked against the store)."""
        state = self._state
        event = "session_bound" if state.owner_session is None else "session_taken_over"
        self._binding = session_id
        try:
            await workflow.execute_activity_method(
                StoreActivities.bind_session,
                BindSession(
                    registration_id=self._id,
                    session_id=session_id,
                    audit=self._audit_entry(
                        event, "citizen", session_id=session_id, previous=state.owner_session
                    ),
                ),
                **INTERACTIVE,
            )
        except ActivityError:
            refuse(Refusal.UNAVAILABLE, "The account store did not answer: enter the code again")
        finally:
            self._binding = None

    @staticmethod
    def _require_actor(request: SupportAction) -> None:
        """Who acts and why go into the audit trail: both must be there, and be text."""
        with as_update_failure():
            validate_free_text(request.actor, "actor", "Actor", 200)
            validate_free_text(request.reason, "reason", "Reason", 500)

    def _verified_profile(self) -> Profile:
        profile = self._state.profile
        if profile is None:  # no stage after the profile's runs without one
            refuse(Refusal.WRONG_STAGE, "No profile was submitted", stage=self._state.stage)
        return profile

    # --- the books: stage, audit trail, search attributes ----------------------------------------

    def _enter(
        self,
        stage: Stage,
        event: str | None = None,
        *,
        attention: Attention | None = None,
        **details: Any,
    ) -> None:
        """Move to `stage`: a new stage starts with a clean slate for support (`attention`)."""
        self._state.stage = stage
        self._state.stage_entered_at = workflow.now()
        self._state.attention = attention
        self._publish()
        if event is not None:
            self._record(event, **details)

    def _publish(self) -> None:
        """Keep the search attributes support filters by, and the UI's current details, in
        step with the state."""
        current = workflow.info().typed_search_attributes
        workflow.upsert_search_attributes(search.updates(self._state, current))
        self._show()

    def _publish_change(self) -> None:
        """Publish a change between stages (registrations from before the patch did not)."""
        if workflow.patched(SUPPORT_VIEW):
            self._publish()
        else:
            self._show()

    def _show(self) -> None:
        """The registration in plain words, as the Temporal UI's current details."""
        workflow.set_current_details(
            describe(self._state, self._input.contact.channel, self._policy, workflow.now())
        )

    def _flag(self, attention: Attention) -> None:
        """Ask for a person's look (until the registration moves on)."""
        self._state.attention = attention
        self._publish_change()

    def _audit_entry(self, event: str, actor: str = "system", **details: Any) -> AuditEntry:
        self._state.audit_seq += 1
        return AuditEntry(
            registration_id=self._id,
            seq=self._state.audit_seq,
            event=event,
            stage=self._state.stage,
            actor=actor,
            details=details,
        )

    def _record(self, event: str, actor: str = "system", **details: Any) -> None:
        """Queue an audit line; the main loop writes it (handlers must answer fast)."""
        self._state.audit_outbox.append(self._audit_entry(event, actor, **details))
        self._show()

    async def _flush_audit(self) -> None:
        while self._state.audit_outbox:
            await workflow.execute_activity_method(
                StoreActivities.record_audit, self._state.audit_outbox[0], **STORE
            )
            self._state.audit_outbox.pop(0)

    def _reject(self, code: str, message: str) -> None:
        self._state.last_rejection = Rejection(code=code, message=message, at=workflow.now())

    # --- waiting, continuing, ending ----------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._policy.max_history_events
        )

    async def _wait(self, condition: Callable[[], bool], until: datetime | None = None) -> Wake:
        """Wait for `condition` or `until`, writing queued audit lines as they appear; stop early
        on cancellation or when history has grown enough to continue as new."""
        while True:
            await self._flush_audit()
            if condition():
                return Wake.DONE
            if self._cancel is not None or self._should_continue_as_new():
                return Wake.INTERRUPTED
            timeout = None
            if until is not None:
                timeout = (until - workflow.now()).total_seconds()
                if timeout <= 0:
                    return Wake.TIMEOUT
            try:
                await workflow.wait_condition(
                    lambda: (
                        condition()
                        or bool(self._state.audit_outbox)
                        or self._cancel is not None
                        or self._should_continue_as_new()
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                return Wake.TIMEOUT

    async def _continue_as_new(self) -> NoReturn:
        # Continue only when no handler runs and nothing is left to write, checked together:
        # an update accepted while the last audit lines were written (a password) would be
        # cut off by the new run, its caller told the registration had moved on.
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._state.audit_outbox:
                break
            await self._flush_audit()
        workflow.continue_as_new(
            self._input.model_copy(update={"carried": self._state.model_dump(mode="json")})
        )

    async def _finish(
        self, stage: Stage, event: str, actor: str = "system", **details: Any
    ) -> None:
        await self._flush_audit()
        self._enter(stage)
        await workflow.execute_activity_method(
            StoreActivities.close_registration,
            CloseRegistration(
                registration_id=self._id,
                outcome=stage,
                audit=self._audit_entry(event, actor, **details),
            ),
            **STORE,
        )

    async def _notify(self, notice: Notice, key: str) -> None:
        try:
            await workflow.execute_activity_method(
                MessagingActivities.notify_user,
                Notify(
                    registration_id=self._id,
                    contact=self._input.contact,
                    notice=notice,
                    key=f"{self._id}:{key}",
                ),
                **BACKGROUND,
            )
        except ActivityError:
            # A lost notification must not hold the journey: the portal shows the same news.
            workflow.logger.warning(
                "notification %s not delivered", notice, extra={"stage": self._state.stage}
            )
            self._flag(Attention.NOTIFICATION_FAILED)

    # --- the outside world: codes, agencies, letters ----------------------------------------

    async def _send_code(self, options: ActivityOptions) -> datetime:
        """Send the next contact code; when it expires."""
        code, policy = self._state.code, self._policy
        sequence = code.sequence + 1
        sent = await workflow.execute_activity_method(
            MessagingActivities.send_contact_code,
            SendContactCode(
                registration_id=self._id, contact=self._input.contact, sequence=sequence
            ),
            **options,
        )
        sms = self._input.contact.channel == "sms"
        ttl = policy.sms_code_ttl if sms else policy.email_link_ttl
        contact_code.record_send(code, sequence, sent.code_hash, ttl, workflow.now(), policy)
        self._record("contact_code_sent", sequence=sequence)
        return workflow.now() + ttl

    async def _run_checks(self, deadline: datetime) -> CheckResult | None:
        """Pension Fund and MVD in parallel; the first mismatch (or the deadline) wins."""
        state = self._state
        state.pending_checks = [Agency.PENSION_FUND, Agency.MVD]
        state.pending_since = workflow.now()
        self._publish_change()
        results = await asyncio.gather(
            self._check(AgencyActivities.check_pension_fund, Agency.PENSION_FUND, deadline),
            self._check(AgencyActivities.check_passport, Agency.MVD, deadline),
        )
        return next((result for result in results if not result.matched), None)

    async def _check(
        self, method: agencies.AgencyCall[CheckResult], agency: Agency, deadline: datetime
    ) -> CheckResult:
        state = self._state
        check = AgencyCheck(
            request_key=f"{self._id}:{agency}:v{state.profile_version}",
            profile=self._verified_profile(),
        )
        try:
            result = await agencies.verify(method, agency, check, deadline, self._policy)
        finally:
            if agency in state.pending_checks:
                state.pending_checks.remove(agency)
        if state.pending_checks:
            self._publish_change()  # one answered, the other still pending
        return result

    async def _lookup_inn(self) -> InnResult:
        state = self._state
        state.pending_checks = [Agency.FNS]
        state.pending_since = workflow.now()
        self._publish_change()
        check = AgencyCheck(
            request_key=f"{self._id}:fns:v{state.profile_version}",
            profile=self._verified_profile(),
        )
        deadline = workflow.now() + self._policy.inn_deadline
        try:
            return await agencies.ask(AgencyActivities.lookup_inn, check, deadline, self._policy)
        except ActivityError:
            # Without an INN the account is still `standard` (DOMAIN.md).
            return InnResult(found=False)
        finally:
            state.pending_checks = []
            state.pending_since = None

    async def _order_letter(self, address: PostalAddress) -> None:
        letter, policy = self._state.letter, self._policy
        profile = self._verified_profile()
        sequence = letter.sequence + 1
        try:
            ordered = await workflow.execute_activity_method(
                PostActivities.order_letter,
                OrderLetter(
                    registration_id=self._id,
                    sequence=sequence,
                    recipient=f"{profile.surname} {profile.name}",
                    address=normalize_postal_address(address),
                ),
                **INTERACTIVE,
            )
        except ActivityError:
            refuse(Refusal.UNAVAILABLE, "The post service did not take the order: try again")
        letters.record_order(
            letter,
            sequence,
            address,
            ordered.tracking_number,
            ordered.code_hash,
            workflow.now(),
            policy,
        )
        if self._state.attention is Attention.LETTER_CODE_EXPIRED:
            self._state.attention = None  # a fresh letter is on its way
        self._record("letter_ordered", sequence=sequence, tracking_number=ordered.tracking_number)

    async def _refresh_tracking(self) -> None:
        letter = self._state.letter
        if letter.tracking_number is None:
            return
        letter.next_tracking_at = workflow.now() + self._policy.letter_tracking_interval
        try:
            status = await workflow.execute_activity_method(
                PostActivities.track_letter,
                TrackLetter(tracking_number=letter.tracking_number),
                **TRACKING,
            )
        except ActivityError:
            return  # the next refresh will try again
        if letters.record_status(letter, status.status, status.updated_at, workflow.now()):
            self._record("letter_status", status=status.status)

    async def _remind_letter(self) -> None:
        letter = self._state.letter
        letter.reminder_due_at = None
        await self._notify(Notice.LETTER_REMINDER, f"letter-reminder:{letter.sequence}")

    async def _expire_letter(self) -> None:
        letters.expire(self._state.letter, workflow.now())
        self._record("letter_code_expired", sequence=self._state.letter.sequence)
        self._flag(Attention.LETTER_CODE_EXPIRED)
