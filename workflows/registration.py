"""The registration journey: one workflow execution per citizen, from contact to confirmed.

Reading order: `run` walks the stages; each stage is a method that waits for the citizen (or an
agency, a clerk, a bank) and returns when the stage changes. Update and signal handlers *decide*
(and answer the caller at once); the main loop *performs* what follows from a decision (audit
trail, store writes, notifications), so a decision is durable the moment it is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, NoReturn, TypedDict

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.agencies import AgencyActivities
    from activities.esignature import SignatureActivities
    from activities.messaging import MessagingActivities
    from activities.post import PostActivities
    from activities.store import StoreActivities
    from registration import errors
    from registration.codes import is_code_hash
    from registration.errors import (
        NOT_CONFIRMED,
        ConfirmationRefusal,
        InvalidInput,
        Refusal,
        StepRefused,
    )
    from registration.identity import compare_certificate, compare_documents, compare_identity
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
    from workflows import search_attributes as search
    from workflows.details import describe
    from workflows.state import REFUSALS_KEPT, Confirmation, RegistrationState

SESSIONS = "sessions-1"
"""Patch: a contact code entered from a citizen session binds that session (store activity
`bind_session`) before it is accepted. Histories recorded before it bind nothing."""

CONFIRMATION_LIMITS = "confirmations-1"
"""Patch: clerk and bank signals are judged only when a confirmation is due (else ignored,
nothing written); refusals are counted, the last few kept, and too many lock confirmation and
flag it for support; partners hear only that the data do not confirm the registration.
Histories recorded before it list every refusal, at any stage, naming the fields."""

SUPPORT_VIEW = "support-view-1"
"""Patch: search attributes are also published between stage changes (pending agencies,
method, letters, attention). Histories recorded before it publish at stage changes only."""

SIGNATURE_CHALLENGE = "signature-challenge-1"
"""Patch: an e-signature confirms only when it is over the registration's current challenge
(issued on entering the identity stage). Histories recorded before it accept any signature of
the right person."""
EXACT_DEADLINE = "exact-deadline-1"
"""Patch: when Temporal stops retrying an agency early (the next backoff would pass the
deadline), a durable timer waits for one last attempt that ends at the deadline itself.
Histories recorded before it give up at Temporal's timeout."""


class Wake(Enum):
    """Why a wait ended."""

    DONE = "done"  # the awaited condition holds
    TIMEOUT = "timeout"  # the deadline passed first
    INTERRUPTED = "interrupted"  # cancellation, or time to continue as new


# Timeouts and retries of every activity, in one place. Agency calls take theirs from Policy.
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
# A citizen is waiting for the answer of an update: give up quickly and say "not applied".
INTERACTIVE: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=5),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}
# Background messages (notifications, tracking): retry for a day, then let it go.
BACKGROUND: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=15),
    "schedule_to_close_timeout": timedelta(days=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=30),
        non_retryable_error_types=errors.NON_RETRYABLE,
    ),
}


# A verification that failed for a reason of ours or the agency's, not the citizen's data.
ATTENTION_ON_MISMATCH = {
    "verification_timeout": Attention.VERIFICATION_TIMEOUT,
    "request_rejected": Attention.AGENCY_REQUEST_REJECTED,
}


def refuse(code: Refusal, message: str, **details: Any) -> NoReturn:
    """Reject a step: the caller gets `code` as the failure type and nothing is applied."""
    raise ApplicationError(
        message,
        StepRefused(code, message, details=details).payload(),
        type=code,
        non_retryable=True,
    )


def refuse_invalid(error: InvalidInput) -> NoReturn:
    raise ApplicationError(error.message, error.payload(), type=error.code, non_retryable=True)


def failure_type(error: ActivityError) -> str | None:
    cause = error.cause
    return cause.type if isinstance(cause, ApplicationError) else None


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
            Stage.PASSWORD: self._await_password,
            Stage.PROFILE: self._collect_profile,
            Stage.VERIFICATION: self._verify,
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
            self._reject("contact_already_registered", "An account with this contact exists")
            self._enter(Stage.REFUSED)
            return
        try:
            await self._send_code(INTERACTIVE)
        except ActivityError as error:
            if failure_type(error) == errors.DELIVERY_REJECTED:
                self._reject(
                    "contact_unreachable", "The code could not be delivered to this contact"
                )
                await self._finish(Stage.REFUSED, "contact_unreachable")
            # Otherwise (the gateway is down, or the contact's code budget across
            # registrations is spent) the citizen asks for a new code later.

    async def _confirm_contact(self) -> None:
        deadline = self._state.started_at + self._policy.contact_deadline
        wake = await self._wait(lambda: self._state.stage is not Stage.CONTACT, until=deadline)
        if wake is Wake.TIMEOUT:
            await self._finish(Stage.EXPIRED, "contact_not_confirmed")

    async def _await_password(self) -> None:
        await self._wait(lambda: self._state.stage is not Stage.PASSWORD)

    async def _collect_profile(self) -> None:
        # The citizen may come back months later: no deadline, just a durable wait.
        await self._wait(lambda: self._state.stage is not Stage.PROFILE)

    async def _verify(self) -> None:
        state = self._state
        assert state.profile is not None
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
            code = mismatch.reason_code or "mismatch"
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
                profile=state.profile,
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
        while self._state.stage is Stage.IDENTITY and self._state.confirmation is None:
            due, event = self._next_letter_event()
            wake = await self._wait(
                lambda due=due: (  # type: ignore[misc]
                    self._state.confirmation is not None or self._letter_event_moved(due)
                ),
                until=due,
            )
            if wake is Wake.INTERRUPTED:
                return
            if wake is Wake.TIMEOUT and event is not None:
                await event()
        confirmation = self._state.confirmation
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
        state, code, now = self._state, self._state.code, workflow.now()
        if request.code_hash == code.code_hash:
            code.code_hash = None
            state.consecutive_failures = 0
            if request.session_id is not None:
                state.owner_session = request.session_id
            if state.stage is Stage.CONTACT:
                self._enter(Stage.PASSWORD, "contact_confirmed")
            return CodeVerdict(accepted=True, attempts_left=code.attempts_left, stage=state.stage)
        code.attempts_left -= 1
        state.consecutive_failures += 1
        burnt = code.attempts_left <= 0
        if state.consecutive_failures >= self._policy.failures_before_lock:
            state.locked_until = now + self._policy.lock_duration
            state.consecutive_failures = 0
            burnt = True
            self._record("contact_locked", locked_until=state.locked_until.isoformat())
        if burnt:
            code.code_hash = None
            code.attempts_left = 0
        return CodeVerdict(
            accepted=False,
            attempts_left=code.attempts_left,
            code_burnt=burnt,
            locked_until=state.locked_until
            if state.locked_until and state.locked_until > now
            else None,
            # A session proving the contact anew learns nothing of where the registration is.
            stage=state.stage if request.session_id == state.owner_session else Stage.CONTACT,
        )

    @submit_contact_code.validator
    def _check_contact_code(self, request: SubmitCode) -> None:
        self._require_contact_proof(request.session_id)
        if not is_code_hash(request.code_hash):
            refuse(Refusal.INVALID_INPUT, "The code must be sent as its 64-character keyed hash")
        self._require_unlocked()
        code = self._state.code
        if not self._opened:
            return  # judged once the first code is out
        if code.code_hash is None or code.expires_at is None:
            refuse(Refusal.NO_ACTIVE_CODE, "There is no active code: request a new one")
        if workflow.now() >= code.expires_at:
            refuse(
                Refusal.CODE_EXPIRED,
                "The code has expired: request a new one",
                expired_at=code.expires_at.isoformat(),
            )

    @workflow.update(name="request_new_code")
    async def request_new_code(self, request: RequestNewCode) -> CodeSentView:
        """Send a new code (the old one stops working), within cooldown and daily caps."""
        await workflow.wait_condition(lambda: self._opened)
        async with self._lock:
            self._check_new_code(request)  # again: the first send or another request came first
            try:
                await self._send_code(INTERACTIVE)
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
            assert state.code.expires_at is not None
            return CodeSentView(
                channel=self._input.contact.channel,
                code_expires_at=state.code.expires_at,
                next_code_allowed_at=state.next_code_allowed_at(self._policy),
                resends_left_today=state.resends_left_today(self._policy, now),
            )

    @request_new_code.validator
    def _check_new_code(self, request: RequestNewCode) -> None:
        self._require_contact_proof(request.session_id)
        self._require_unlocked()
        if not self._opened:
            return  # judged once the first code is out
        state, now, policy = self._state, workflow.now(), self._policy
        allowed_at = state.next_code_allowed_at(policy)
        if now < allowed_at:
            refuse(
                Refusal.RESEND_TOO_SOON,
                f"A new code can be requested at {allowed_at:%H:%M:%S} UTC",
                retry_at=allowed_at.isoformat(),
            )
        if state.code.sends_since(now - timedelta(hours=1)) >= policy.resends_per_hour:
            refuse(Refusal.RESEND_LIMIT, "Too many codes requested in the last hour: try later")
        if state.code.sends_since(now - timedelta(days=1)) >= policy.resends_per_day:
            refuse(Refusal.RESEND_LIMIT, "Too many codes requested today: try tomorrow")

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
        try:
            validate_profile(request.profile, workflow.now().date())
        except InvalidInput as error:
            refuse_invalid(error)

    # --- identity confirmation ----------------------------------------------------------------

    @workflow.update(name="choose_method")
    async def choose_method(self, request: ChooseMethod) -> MethodChosen:
        """Record the chosen method; for a letter, order it and answer with its tracking number."""
        async with self._lock:
            self._check_method(request)
            if request.method is ConfirmationMethod.LETTER:
                assert request.address is not None
                await self._order_letter(request.address)  # refuses, recording nothing, if it fails
            self._state.method = request.method
            self._record("method_chosen", method=request.method)
            self._publish_change()
            return MethodChosen(method=request.method, letter=self._state.letter_view(self._policy))

    @choose_method.validator
    def _check_method(self, request: ChooseMethod) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.IDENTITY)
        if request.method is not ConfirmationMethod.LETTER:
            return
        if request.address is None:
            refuse(
                Refusal.INVALID_INPUT,
                "A postal address is required for a registered letter",
                field="address",
            )
        try:
            normalize_postal_address(request.address)
        except InvalidInput as error:
            refuse_invalid(error)
        letter, now, policy = self._state.letter, workflow.now(), self._policy
        if letter.ordered_at is not None and now < letter.ordered_at + policy.letter_reorder_gap:
            allowed = letter.ordered_at + policy.letter_reorder_gap
            refuse(
                Refusal.LETTER_REORDER_TOO_SOON,
                f"A new letter can be ordered after {allowed:%Y-%m-%d %H:%M} UTC",
                retry_at=allowed.isoformat(),
            )
        window_start = now - policy.letter_order_window
        if (
            sum(1 for t in letter.order_times if t > window_start)
            >= policy.letter_orders_per_window
        ):
            refuse(
                Refusal.LETTER_REORDER_LIMIT,
                f"At most {policy.letter_orders_per_window} letters can be ordered in "
                f"{policy.letter_order_window.days} days",
            )

    @workflow.update(name="submit_letter_code")
    def submit_letter_code(self, request: SubmitCode) -> CodeVerdict:
        """Judge the code from the registered letter."""
        letter, now, policy = self._state.letter, workflow.now(), self._policy
        if request.code_hash == letter.code_hash:
            letter.code_hash = None
            self._decide(
                Confirmation(
                    method=ConfirmationMethod.LETTER,
                    actor="citizen",
                    details={"tracking_number": letter.tracking_number or ""},
                )
            )
            return CodeVerdict(accepted=True, attempts_left=0, stage=self._state.stage)
        window_start = now - policy.letter_wrong_code_window
        letter.wrong_entries = [t for t in letter.wrong_entries if t > window_start] + [now]
        left = policy.letter_wrong_codes_before_lock - len(letter.wrong_entries)
        if left <= 0:
            letter.locked_until = now + policy.letter_lock_duration
            letter.wrong_entries = []
            self._record("letter_code_locked", locked_until=letter.locked_until.isoformat())
        return CodeVerdict(
            accepted=False,
            attempts_left=max(left, 0),
            locked_until=letter.locked_until if left <= 0 else None,
            stage=self._state.stage,
        )

    @submit_letter_code.validator
    def _check_letter_code(self, request: SubmitCode) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.IDENTITY)
        if not is_code_hash(request.code_hash):
            refuse(Refusal.INVALID_INPUT, "The code must be sent as its 64-character keyed hash")
        letter, now = self._state.letter, workflow.now()
        if letter.locked_until is not None and now < letter.locked_until:
            refuse(
                Refusal.LOCKED,
                f"Code entry is locked until {letter.locked_until:%H:%M:%S} UTC",
                locked_until=letter.locked_until.isoformat(),
            )
        if letter.code_hash is None or letter.code_expires_at is None:
            refuse(Refusal.NO_ACTIVE_CODE, "No letter code is active: order a letter first")
        if now >= letter.code_expires_at:
            refuse(
                Refusal.CODE_EXPIRED,
                "The letter code has expired: order a new letter",
                expired_at=letter.code_expires_at.isoformat(),
            )

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

    @submit_signature.validator
    def _check_signature(self, request: SubmitSignature) -> None:
        self._require_confirmable()
        if not request.signed_request or len(request.signed_request) > 65_536:
            refuse(
                Refusal.INVALID_INPUT,
                "The signed request must be 1 to 65536 characters",
                field="signed_request",
            )

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
            letter = self._state.letter
            assert letter.address is not None
            await self._order_letter(letter.address)
            self._record("letter_resent", request.actor, reason=request.reason)
            self._publish_change()
            return MethodChosen(
                method=ConfirmationMethod.LETTER, letter=self._state.letter_view(self._policy)
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
        state, extra = self._state, timedelta(days=request.days)
        if request.deadline is Deadline.VERIFICATION:
            assert state.verification_deadline is not None
            state.verification_deadline += extra
            until = state.verification_deadline
            self._retry_checks = True  # the running checks carry the old deadline
        else:
            letter = state.letter
            assert letter.code_expires_at is not None
            letter.code_expires_at += extra
            until = letter.code_expires_at
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
        return state.claim_view(self._id, self._input.contact.channel, self._policy, workflow.now())

    # --- helpers ------------------------------------------------------------------------------

    def _view(self) -> RegistrationView:
        view = self._state.view(self._id, self._input.contact.channel, self._policy, workflow.now())
        if self._cancel is not None and not view.stage.is_final:
            # Decided, and being written down: a new start for the contact must not join it.
            return view.model_copy(update={"stage": Stage.CANCELLED})
        return view

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
        state = self._state
        pending = [agency.value for agency in state.pending_checks]
        current = workflow.info().typed_search_attributes
        updates: list[Any] = [
            search.STAGE.value_set(state.stage),
            search.LEVEL.value_set(state.level),
            search.STAGE_SINCE.value_set(state.stage_entered_at),
            search.LETTERS_SENT.value_set(state.letter.sequence),
            search.PROFILE_VERSION.value_set(state.profile_version),
            search.NEEDS_ATTENTION.value_set(state.attention is not None),
        ]
        if state.pending_since is not None:
            # Kept once set: it means something only while PENDING_AGENCY is.
            updates.append(search.PENDING_SINCE.value_set(state.pending_since))
        optional: list[tuple[Any, Any]] = [
            (search.PENDING_AGENCY, pending or None),
            (search.METHOD, state.method),
            (search.SERVICE_CENTER, state.service_center_id),
            (search.ATTENTION, state.attention),
        ]
        for key, value in optional:
            if value is not None:
                updates.append(key.value_set(value))
            elif current.get(key) is not None:  # unset only what is set
                updates.append(key.value_unset())
        workflow.upsert_search_attributes(updates)
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
        try:
            validate_free_text(request.actor, "actor", "Actor", 200)
            validate_free_text(request.reason, "reason", "Reason", 500)
        except InvalidInput as error:
            refuse_invalid(error)

    def _require_unlocked(self) -> None:
        locked_until = self._state.locked_until
        if locked_until is not None and workflow.now() < locked_until:
            refuse(
                Refusal.LOCKED,
                f"Too many wrong codes: locked until {locked_until:%H:%M:%S} UTC",
                locked_until=locked_until.isoformat(),
            )

    def _verified_profile(self) -> Profile:
        assert self._state.profile is not None
        return self._state.profile

    def _require_confirmable(self) -> None:
        """A clerk, bank or e-signature confirmation is judged only at the identity stage, until
        one is decided, and not while too many refusals have locked confirmation."""
        self._require_stage(Stage.IDENTITY)
        state = self._state
        if state.confirmation is not None:
            refuse(Refusal.ALREADY_FINISHED, "The identity is confirmed already")
        locked_until = state.confirmation_lock(workflow.now())
        if locked_until is not None:
            refuse(
                Refusal.LOCKED,
                "Too many refused confirmations: none is taken until "
                f"{locked_until:%Y-%m-%d %H:%M} UTC",
                locked_until=locked_until.isoformat(),
            )

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
        the audit trail gets `details` (which fields differ). The last few refusals are kept
        and all are counted; `policy.confirmation_attempts` of them lock confirmation for
        `policy.confirmation_lock` and ask support to look."""
        state, policy, now = self._state, self._policy, workflow.now()
        state.confirmations_refused = state.refusal_count + 1
        state.confirmation_failures += 1
        kept = [*state.refused_confirmations, Rejection(code=refusal, message=told, at=now)]
        state.refused_confirmations = kept[-REFUSALS_KEPT:]
        self._record("confirmation_refused", actor, reason=refusal, **details)
        if state.confirmation_failures < policy.confirmation_attempts:
            if state.attention is not Attention.CONFIRMATION_LOCKED:  # the stronger word stays
                self._flag(Attention.CONFIRMATION_REFUSED)
            return ConfirmationVerdict(confirmed=False, reason=told, stage=state.stage)
        state.confirmation_failures = 0
        locked_until = now + policy.confirmation_lock
        state.confirmation_locked_until = locked_until
        self._record(
            "confirmation_locked",
            refused=state.confirmations_refused,
            locked_until=locked_until.isoformat(),
        )
        self._flag(Attention.CONFIRMATION_LOCKED)
        return ConfirmationVerdict(
            confirmed=False, reason=told, stage=state.stage, locked_until=locked_until
        )

    def _may_confirm(self, actor: str) -> bool:
        """Before CONFIRMATION_LIMITS: a confirmation out of its stage was refused and listed."""
        if self._state.stage is Stage.IDENTITY and self._state.confirmation is None:
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
        self._state.refused_confirmations.append(
            Rejection(code=refusal, message=told, at=workflow.now())
        )
        self._record("confirmation_refused", actor, reason=refusal, **details)
        self._flag(Attention.CONFIRMATION_REFUSED)
        return ConfirmationVerdict(confirmed=False, reason=told, stage=self._state.stage)

    def _decide(self, confirmation: Confirmation) -> None:
        self._state.confirmation = confirmation

    def _confirmed(self, confirmation: Confirmation) -> ConfirmationVerdict:
        """Decide for `confirmation`: durable now; the main loop writes it down and the
        registration is confirmed, which is what the caller is told."""
        self._decide(confirmation)
        return ConfirmationVerdict(confirmed=True, stage=Stage.CONFIRMED)

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

    # --- contact code ---------------------------------------------------------------------------

    async def _send_code(self, options: ActivityOptions) -> None:
        code = self._state.code
        sequence = code.sequence + 1
        sent = await workflow.execute_activity_method(
            MessagingActivities.send_contact_code,
            SendContactCode(
                registration_id=self._id, contact=self._input.contact, sequence=sequence
            ),
            **options,
        )
        now = workflow.now()
        ttl = (
            self._policy.sms_code_ttl
            if self._input.contact.channel == "sms"
            else self._policy.email_link_ttl
        )
        code.sequence = sequence
        code.code_hash = sent.code_hash
        code.expires_at = now + ttl
        code.attempts_left = self._policy.attempts_per_code
        code.sent_at = [t for t in code.sent_at if t > now - timedelta(days=1)] + [now]
        self._record("contact_code_sent", sequence=sequence)

    # --- verification -------------------------------------------------------------------------

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

    async def _check(self, method: Any, agency: Agency, deadline: datetime) -> CheckResult:
        state = self._state
        assert state.profile is not None
        try:
            result: CheckResult = await self._ask_agency(
                method,
                AgencyCheck(
                    request_key=f"{self._id}:{agency}:v{state.profile_version}",
                    profile=state.profile,
                ),
                deadline,
            )
        except ActivityError as error:
            if error.retry_state is RetryState.TIMEOUT:
                days = self._policy.verification_deadline.days
                result = CheckResult(
                    agency=agency,
                    matched=False,
                    reason_code="verification_timeout",
                    reason=f"No answer from {agency} within {days} days: "
                    "check the data and submit again",
                )
            elif failure_type(error) == errors.AGENCY_REQUEST_REJECTED:
                result = CheckResult(
                    agency=agency,
                    matched=False,
                    reason_code="request_rejected",
                    reason=f"{agency} could not process the data: check and resubmit",
                )
            else:
                raise
        finally:
            if agency in state.pending_checks:
                state.pending_checks.remove(agency)
        if state.pending_checks:
            self._publish_change()  # one answered, the other still pending
        return result

    async def _lookup_inn(self) -> InnResult:
        state = self._state
        assert state.profile is not None
        state.pending_checks = [Agency.FNS]
        state.pending_since = workflow.now()
        self._publish_change()
        try:
            found: InnResult = await self._ask_agency(
                AgencyActivities.lookup_inn,
                AgencyCheck(
                    request_key=f"{self._id}:fns:v{state.profile_version}", profile=state.profile
                ),
                workflow.now() + self._policy.inn_deadline,
            )
            return found
        except ActivityError:
            # Without an INN the account is still `standard` (DOMAIN.md).
            return InnResult(found=False)
        finally:
            state.pending_checks = []
            state.pending_since = None

    async def _ask_agency(self, method: Any, check: AgencyCheck, deadline: datetime) -> Any:
        """The agency's answer, asked with backoff until `deadline`; an `ActivityError` with
        `RetryState.TIMEOUT` if it has not answered by then.

        Temporal gives up as soon as the next backoff would pass schedule-to-close, up to
        `agency_max_backoff` before the deadline support sees. So (EXACT_DEADLINE) the
        workflow then sleeps until one attempt before the deadline and asks once more; only
        that attempt's failure is the timeout. Cancelling the caller cancels the sleep."""
        try:
            return await workflow.execute_activity_method(
                method, check, **self._agency_options(deadline)
            )
        except ActivityError as error:
            last_start = deadline - self._policy.agency_attempt_timeout
            if (
                error.retry_state is not RetryState.TIMEOUT
                or workflow.now() >= last_start
                or not workflow.patched(EXACT_DEADLINE)
            ):
                raise
            await workflow.sleep(last_start - workflow.now())
            try:
                return await workflow.execute_activity_method(
                    method, check, **self._agency_options(deadline, last_attempt=True)
                )
            except ActivityError as last:
                if last.retry_state in (RetryState.TIMEOUT, RetryState.MAXIMUM_ATTEMPTS_REACHED):
                    raise error from last  # no answer by the deadline, as before
                raise  # an answer after all (a refused request), or a cancellation

    def _agency_options(self, deadline: datetime, *, last_attempt: bool = False) -> ActivityOptions:
        """Attempts with backoff until `deadline`; or, for the `last_attempt`, one attempt
        that ends by the deadline (it starts one attempt timeout before it)."""
        policy = self._policy
        if last_attempt:
            return {
                "start_to_close_timeout": policy.agency_attempt_timeout,
                "schedule_to_close_timeout": policy.agency_attempt_timeout,
                "retry_policy": RetryPolicy(
                    maximum_attempts=1, non_retryable_error_types=errors.NON_RETRYABLE
                ),
            }
        return {
            "start_to_close_timeout": policy.agency_attempt_timeout,
            "schedule_to_close_timeout": max(deadline - workflow.now(), timedelta(seconds=1)),
            "retry_policy": RetryPolicy(
                initial_interval=policy.agency_initial_backoff,
                backoff_coefficient=2.0,
                maximum_interval=policy.agency_max_backoff,
                non_retryable_error_types=errors.NON_RETRYABLE,
            ),
        }

    # --- registered letter ------------------------------------------------------------------------

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
        now = workflow.now()
        letter.sequence = sequence
        letter.tracking_number = ordered.tracking_number
        letter.address = address
        letter.code_hash = ordered.code_hash
        letter.ordered_at = now
        letter.code_expires_at = now + policy.letter_code_ttl
        letter.status = "ordered"
        letter.status_updated_at = now
        letter.order_times = [
            t for t in letter.order_times if t > now - policy.letter_order_window
        ] + [now]
        letter.reminder_due_at = now + policy.letter_reminder_after
        letter.next_tracking_at = now + policy.letter_tracking_interval
        letter.wrong_entries = []
        if self._state.attention is Attention.LETTER_CODE_EXPIRED:
            self._state.attention = None  # a fresh letter is on its way
        self._record("letter_ordered", sequence=sequence, tracking_number=ordered.tracking_number)

    def _next_letter_event(self) -> tuple[datetime | None, Callable[[], Awaitable[None]] | None]:
        """The next thing a letter needs: a tracking refresh, the reminder, or expiry."""
        letter = self._state.letter
        if letter.code_hash is None or letter.code_expires_at is None:
            return None, None
        candidates: list[tuple[datetime, Callable[[], Awaitable[None]]]] = [
            (letter.code_expires_at, self._expire_letter)
        ]
        if letter.next_tracking_at is not None:
            candidates.append((letter.next_tracking_at, self._refresh_tracking))
        if letter.reminder_due_at is not None:
            candidates.append((letter.reminder_due_at, self._remind_letter))
        return min(candidates, key=lambda c: c[0])

    def _letter_event_moved(self, due: datetime | None) -> bool:
        return self._next_letter_event()[0] != due

    async def _refresh_tracking(self) -> None:
        letter = self._state.letter
        assert letter.tracking_number is not None
        letter.next_tracking_at = workflow.now() + self._policy.letter_tracking_interval
        try:
            status = await workflow.execute_activity_method(
                PostActivities.track_letter,
                TrackLetter(tracking_number=letter.tracking_number),
                start_to_close_timeout=timedelta(seconds=15),
                schedule_to_close_timeout=timedelta(minutes=5),
            )
        except ActivityError:
            return  # the next refresh will try again
        if status.status != letter.status:
            letter.status = status.status
            letter.status_updated_at = status.updated_at or workflow.now()
            self._record("letter_status", status=status.status)

    async def _remind_letter(self) -> None:
        letter = self._state.letter
        letter.reminder_due_at = None
        await self._notify(Notice.LETTER_REMINDER, f"letter-reminder:{letter.sequence}")

    async def _expire_letter(self) -> None:
        letter = self._state.letter
        letter.code_hash = None
        letter.next_tracking_at = None
        letter.reminder_due_at = None
        letter.status = "code_expired"
        letter.status_updated_at = workflow.now()
        self._record("letter_code_expired", sequence=letter.sequence)
        self._flag(Attention.LETTER_CODE_EXPIRED)
