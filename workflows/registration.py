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
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from registration import (
        access,
        confirmations,
        contact_code,
        counter,
        deadlines,
        errors,
        letters,
    )
    from registration.checks import validate_free_text
    from registration.confirmations import Confirmation
    from registration.errors import Refusal
    from registration.journey import (
        Attention,
        ConfirmationMethod,
        Deadline,
        Level,
        Notice,
        RejectionCode,
        Stage,
    )
    from registration.messages import (
        BankConfirmation,
        Cancel,
        ChooseMethod,
        ClerkConfirmation,
        CodeSentView,
        CodeVerdict,
        ConfirmationVerdict,
        CounterClerk,
        CounterProfile,
        CounterStart,
        DeadlineExtended,
        ExtendDeadline,
        MethodChosen,
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
    from registration.person import Profile, validate_profile
    from workflows import agencies, waiting
    from workflows.account import Account
    from workflows.identity import Identity
    from workflows.ledger import Ledger
    from workflows.messages import Messages
    from workflows.options import INTERACTIVE
    from workflows.patches import CONFIRMATION_LIMITS, COUNTER, SESSIONS, decide, taken
    from workflows.refusals import as_update_failure, failure_type, refuse
    from workflows.state import RegistrationState
    from workflows.views import claim_view, full_view
    from workflows.waiting import Wake


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
        self._ledger = Ledger(self._id, input.contact.channel, self._state, self._policy)
        self._account = Account(input, self._ledger)
        self._messages = Messages(self._id, input.contact, self._state, self._policy, self._ledger)
        self._identity = Identity(
            self._id, self._state, self._policy, self._ledger, self._messages.notify
        )
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
        decide()  # first thing in the first task (workflows.patches)
        try:
            if input.carried is None:
                self._ledger.publish()
                await self._open()
                self._opened = True
            while not self._state.stage.is_final:
                await stages[self._state.stage]()
                if self._cancel is not None and not self._state.stage.is_final:
                    await self._finish(
                        Stage.CANCELLED, "cancelled", self._cancel.actor, reason=self._cancel.reason
                    )
                elif waiting.history_is_long(self._policy):
                    await waiting.continue_as_new(self._input, self._state, self._ledger)
        except asyncio.CancelledError:
            # Cancelled from Temporal itself (UI, CLI): close the books, then end as cancelled.
            await self._finish(
                Stage.CANCELLED, "cancelled", "temporal", reason="workflow cancelled"
            )
            await self._ledger.delivered()
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._ledger.delivered()  # the portal hears of the outcome before the end
        return RegistrationResult(
            stage=self._state.stage, level=self._state.level, method=self._state.method
        )

    async def _open(self) -> None:
        if not await self._account.open():
            self._ledger.reject(
                RejectionCode.CONTACT_ALREADY_REGISTERED, "An account with this contact exists"
            )
            self._ledger.enter(Stage.REFUSED)
            return
        try:
            await self._messages.send_code(INTERACTIVE)
        except ActivityError as error:
            if failure_type(error) == errors.DELIVERY_REJECTED:
                self._ledger.reject(
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
            mismatch = await agencies.check_or_stop(
                self._id,
                state,
                self._policy,
                self._ledger,
                stop=lambda: self._cancel is not None or self._retry_checks,
            )
            if mismatch is not agencies.STOPPED:
                break
            if self._cancel is not None:
                return
            # Support asked to retry now: ask again at once instead of after the backoff.
            self._retry_checks = False
            await self._ledger.flush()
        if mismatch is not None:
            code = mismatch.reason_code or RejectionCode.MISMATCH
            self._ledger.reject(
                code, mismatch.reason or "The agencies did not confirm the data", mismatch.agency
            )
            self._ledger.enter(
                Stage.PROFILE,
                "verification_failed",
                attention=ATTENTION_ON_MISMATCH.get(code),
                agency=mismatch.agency,
                reason=code,
            )
            await self._messages.notify(
                Notice.VERIFICATION_FAILED, f"verification-failed:{state.profile_version}"
            )
            return
        inn = await agencies.lookup_inn(self._id, state, self._policy, self._ledger)
        started = self._at_counter()
        if started is not None and not await self._account.open_at_counter():
            self._ledger.reject(
                RejectionCode.CONTACT_ALREADY_REGISTERED, "An account with this contact exists"
            )
            await self._finish(Stage.REFUSED, "contact_already_registered")
            return
        await self._account.save_verified(self._identity.profile(), inn)
        state.inn_found = inn.found
        state.last_rejection = None
        if started is not None:
            # The clerk saw the documents the agencies just agreed with: no identity stage.
            await self._confirm(counter.confirmation(started), notice=None)
            await self._messages.send_password_link()
            await self._ledger.flush()
            return
        state.level = Level.STANDARD
        state.signature_challenge = self._identity.new_challenge()
        self._ledger.enter(Stage.IDENTITY)
        await self._messages.notify(Notice.STANDARD_GRANTED, "standard-granted")

    async def _confirm_identity(self) -> None:
        while self._state.stage is Stage.IDENTITY and self._state.confirmations.decided is None:
            due, event = letters.next_event(self._state.letter)
            wake = await self._wait(self._decided_or_letter_moved(due), until=due)
            if wake is Wake.INTERRUPTED:
                return
            if wake is Wake.TIMEOUT and event is not None:
                await self._identity.letter_event(event)
        confirmation = self._state.confirmations.decided
        if confirmation is not None:
            await self._confirm(confirmation)

    async def _confirm(
        self, confirmation: Confirmation, notice: Notice | None = Notice.CONFIRMED
    ) -> None:
        await self._account.confirm(confirmation)
        self._state.method = confirmation.method
        self._state.level = Level.CONFIRMED
        self._ledger.enter(Stage.CONFIRMED)
        if notice is not None:
            await self._messages.notify(notice, "confirmed")

    def _at_counter(self) -> CounterStart | None:
        """The counter start of a registration made at a service center (patch `COUNTER`);
        None for a portal registration. Not for validators, which issue no command: they
        read `self._input.counter`."""
        started = self._input.counter
        return started if started is not None and taken(COUNTER) else None

    def _decided_or_letter_moved(self, due: datetime | None) -> Callable[[], bool]:
        """Wake the identity stage: a confirmation was decided, or the letter's next event
        moved (a new letter, a deadline extended)."""
        return lambda: (
            self._state.confirmations.decided is not None
            or letters.next_event(self._state.letter)[0] != due
        )

    # --- citizen input: contact code ----------------------------------------------------------

    @workflow.update
    async def submit_contact_code(self, request: SubmitCode) -> CodeVerdict:
        """Judge a code (its keyed hash): accepted, or wrong with the attempts left. The session
        that enters the right code owns the registration from then on; every other session is
        revoked (at the contact stage, or later: the contact's holder takes it over)."""
        if not self._opened:
            # A fast client can type before the first code's send has been recorded.
            await workflow.wait_condition(lambda: self._opened)
            self._check_contact_code(request)
        if request.session_id is None or not taken(SESSIONS):
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
                started = self._at_counter()
                if started is None:
                    self._ledger.enter(Stage.PASSWORD, "contact_confirmed")
                else:  # the clerk entered the profile at the start: verify it now
                    self._take_profile(started.profile, "contact_confirmed")
            return CodeVerdict(accepted=True, attempts_left=judged.attempts_left, stage=state.stage)
        if judged.locked_until is not None:
            self._ledger.record("contact_locked", locked_until=judged.locked_until.isoformat())
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
        self._require_counter(request.counter)
        self._require_contact_proof(request.session_id)
        with as_update_failure():
            contact_code.check_entry(
                self._state.code, request.code_hash, workflow.now(), sent=self._opened
            )

    @workflow.update
    async def request_new_code(self, request: RequestNewCode) -> CodeSentView:
        """Send a new code (the old one stops working), within cooldown and daily caps."""
        await workflow.wait_condition(lambda: self._opened)
        async with self._lock:
            self._check_new_code(request)  # again: the first send or another request came first
            expires_at = await self._messages.send_requested_code()
            state, now = self._state, workflow.now()
            if state.stage is not Stage.CONTACT:
                self._ledger.record(
                    "contact_reproof_requested", "citizen", session_id=request.session_id
                )
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
        self._require_counter(request.counter)
        self._require_contact_proof(request.session_id)
        state, now = self._state, workflow.now()
        with as_update_failure():
            contact_code.check_unlocked(state.code, now)
            if self._opened:  # else judged once the first code is out
                contact_code.check_send(state.code, state.stage_entered_at, now, self._policy)

    # --- citizen input: password and profile -----------------------------------------------

    @workflow.update
    async def password_set(self, request: PasswordSet) -> StepDone:
        """The caller staged the password's hash in the store; activate the account."""
        async with self._lock:
            self._require_stage(Stage.PASSWORD)
            self._require_owner(request.session_id)  # again: a takeover may have come first
            await self._account.activate_password(request.staged_id)
            self._state.level = Level.SIMPLIFIED
            self._ledger.enter(Stage.PROFILE)
            return StepDone(stage=self._state.stage, level=self._state.level)

    @password_set.validator
    def _check_password_set(self, request: PasswordSet) -> None:
        self._require_owner(request.session_id)
        self._require_stage(Stage.PASSWORD)

    @workflow.update
    def submit_profile(self, request: SubmitProfile) -> StepDone:
        """Accept a (corrected) profile and start the automatic verification."""
        self._take_profile(request.profile, "profile_submitted")
        return StepDone(stage=self._state.stage, level=self._state.level)

    def _take_profile(self, profile: Profile, event: str) -> None:
        state = self._state
        state.profile = validate_profile(profile, workflow.now().date())
        state.profile_version += 1
        state.verification_deadline = workflow.now() + self._policy.verification_deadline
        self._ledger.enter(Stage.VERIFICATION, event, version=state.profile_version)

    @submit_profile.validator
    def _check_profile(self, request: SubmitProfile) -> None:
        self._require_counter(request.counter)
        self._require_owner(request.session_id)
        self._require_stage(Stage.PROFILE)
        with as_update_failure():
            validate_profile(request.profile, workflow.now().date())

    # --- identity confirmation ----------------------------------------------------------------

    @workflow.update
    async def choose_method(self, request: ChooseMethod) -> MethodChosen:
        """Record the chosen method; for a letter, order it and answer with its tracking number."""
        async with self._lock:
            self._check_method(request)
            if request.method is ConfirmationMethod.LETTER and request.address is not None:
                # Refused, recording nothing, if the post does not take the order.
                await self._identity.order_letter(request.address)
            self._state.method = request.method
            self._ledger.record("method_chosen", method=request.method)
            self._ledger.publish_change()
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

    @workflow.update
    def submit_letter_code(self, request: SubmitCode) -> CodeVerdict:
        """Judge the code from the registered letter."""
        letter = self._state.letter
        judged = letters.judge(letter, request.code_hash, workflow.now(), self._policy)
        if judged.accepted:
            self._identity.confirm_by_letter()
        elif judged.locked_until is not None:
            self._ledger.record("letter_code_locked", locked_until=judged.locked_until.isoformat())
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

    @workflow.update
    async def submit_signature(self, request: SubmitSignature) -> ConfirmationVerdict:
        """Verify a confirmation request signed with a qualified e-signature: confirmed, or
        refused without saying why (the audit trail says it)."""
        async with self._lock:
            self._require_stage(Stage.IDENTITY)
            check = await self._identity.verify_signature(request.signed_request)
            self._require_confirmable()  # a clerk or bank may have decided meanwhile
            return self._identity.judge_signature(check)

    @submit_signature.validator
    def _check_signature(self, request: SubmitSignature) -> None:
        self._require_confirmable()
        if not request.signed_request or len(request.signed_request) > 65_536:
            refuse(
                Refusal.INVALID_INPUT,
                "The signed request must be 1 to 65536 characters",
                field="signed_request",
            )

    @workflow.update
    def confirm_in_person(self, seen: ClerkConfirmation) -> ConfirmationVerdict:
        """A service-center clerk checked the passport and SNILS in person: confirmed, or refused
        naming the documents that differ (the clerk holds them and may tell the person)."""
        return self._identity.judge_clerk(seen)

    @confirm_in_person.validator
    def _check_in_person(self, seen: ClerkConfirmation) -> None:
        self._require_confirmable()

    @workflow.update
    def confirm_by_bank(self, vouched: BankConfirmation) -> ConfirmationVerdict:
        """The citizen's bank vouches for an identity it verified itself: confirmed, or refused
        without saying what differs (the audit trail says it)."""
        return self._identity.judge_bank(vouched)

    @confirm_by_bank.validator
    def _check_by_bank(self, vouched: BankConfirmation) -> None:
        self._require_confirmable()

    @workflow.signal(name="clerk_confirmation")
    def clerk_confirmation(self, seen: ClerkConfirmation) -> None:
        """`confirm_in_person` as a signal, as callers sent it before the update existed: judged
        the same way when a confirmation is due, ignored (nothing written) when not."""
        if taken(CONFIRMATION_LIMITS):
            if self._confirmation_due():
                self._identity.judge_clerk(seen)
            return
        self._state.service_center_id = seen.service_center_id
        if self._identity.may_confirm(f"clerk:{seen.clerk_id}"):
            self._identity.judge_clerk(seen, limits=False)

    @workflow.signal(name="bank_confirmation")
    def bank_confirmation(self, vouched: BankConfirmation) -> None:
        """`confirm_by_bank` as a signal, as callers sent it before the update existed."""
        if taken(CONFIRMATION_LIMITS):
            if self._confirmation_due():
                self._identity.judge_bank(vouched)
            return
        if self._identity.may_confirm(f"bank:{vouched.bank_id}"):
            self._identity.judge_bank(vouched, limits=False)

    def _require_confirmable(self) -> None:
        """A clerk, bank or e-signature confirmation is judged only at the identity stage, until
        one is decided, and not while too many refusals have locked confirmation."""
        with as_update_failure():
            access.require_stage(self._state.stage, Stage.IDENTITY, cancelling=self._cancelling)
            confirmations.check_open(self._state.confirmations, workflow.now())

    def _confirmation_due(self) -> bool:
        """`_require_confirmable` for a signal, which cannot be answered: true or false."""
        try:
            self._require_confirmable()
        except ApplicationError:
            return False
        return True

    # --- support ------------------------------------------------------------------------------

    @workflow.update
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

    @workflow.update
    def retry_checks(self, request: SupportAction) -> StepDone:
        """Support: ask the agencies again now, not when the backoff says."""
        self._retry_checks = True
        self._ledger.record("checks_retried", request.actor, reason=request.reason)
        return StepDone(stage=self._state.stage, level=self._state.level)

    @retry_checks.validator
    def _check_retry_checks(self, request: SupportAction) -> None:
        self._require_stage(Stage.VERIFICATION)
        self._require_actor(request)

    @workflow.update
    async def resend_letter(self, request: SupportAction) -> MethodChosen:
        """Support: order the letter again to the same address, whatever the re-order limits
        (the citizen called; a person decided). Recorded with who did it."""
        async with self._lock:
            self._check_resend_letter(request)
            address = self._state.letter.address
            if address is not None:  # the validator says so
                await self._identity.order_letter(address)
            self._ledger.record("letter_resent", request.actor, reason=request.reason)
            self._ledger.publish_change()
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

    @workflow.update
    def extend_deadline(self, request: ExtendDeadline) -> DeadlineExtended:
        """Support: give the agencies (and ask them again now), or the letter code, more days."""
        state = self._state
        with as_update_failure():
            if request.deadline is Deadline.VERIFICATION:
                until = deadlines.extended(
                    state.verification_deadline, request.days, request.deadline
                )
                state.verification_deadline = until
                self._retry_checks = True  # the running checks carry the old deadline
            else:
                until = deadlines.extended(
                    state.letter.code_expires_at, request.days, request.deadline
                )
                state.letter.code_expires_at = until
        self._ledger.record(
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
        state = self._state
        with as_update_failure():
            deadlines.check_extension(
                request.deadline,
                request.days,
                stage=state.stage,
                pending=state.pending_checks,
                letter_code_out=state.letter.code_hash is not None,
                policy=self._policy,
                cancelling=self._cancelling,
            )

    @workflow.update
    async def opened(self, session_id: str) -> RegistrationView:
        """The registration as `session_id` sees it once opened, its first code sent (or the
        start refused): sent together with the start (update-with-start), so the portal's
        start is one round trip that answers when the code is on its way."""
        await workflow.wait_condition(lambda: self._opened)
        return self.session_state(session_id)

    @opened.validator
    def _check_opened(self, session_id: str) -> None:
        # Only ever read; validated so that every update passes the proof checks (attestation).
        if not session_id:
            raise ApplicationError("A session id is required", non_retryable=True)

    @workflow.query(name="state")
    def state(self) -> RegistrationView:
        return self._view()

    @workflow.query(name="counter_profile")
    def counter_profile(self) -> CounterProfile:
        """The profile of a registration made at a counter as its clerks last entered it: the
        one verified (or refused) since the contact was confirmed, else the one of the start.
        For its own clerks' correction form; the service asks it for them only."""
        started = self._input.counter
        if started is None:
            return CounterProfile()
        return CounterProfile(profile=self._state.profile or started.profile)

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

    @property
    def _cancelling(self) -> bool:
        """A cancel was accepted and is being written down: no other step is taken."""
        return self._cancel is not None

    def _require_stage(self, stage: Stage) -> None:
        with as_update_failure():
            access.require_stage(self._state.stage, stage, cancelling=self._cancelling)

    def _require_contact_proof(self, session_id: str | None) -> None:
        state = self._state
        with as_update_failure():
            access.require_contact_proof(
                state.stage, state.owner_session, session_id, cancelling=self._cancelling
            )

    def _require_counter(self, clerk: CounterClerk | None) -> None:
        """A registration made at a counter takes its steps from a clerk of its center only;
        a portal registration from no clerk (`registration.counter`)."""
        with as_update_failure():
            counter.require_counter(self._input.counter, clerk)

    def _require_owner(self, session_id: str | None) -> None:
        with as_update_failure():
            access.require_owner(self._state.owner_session, session_id, binding=self._binding)

    @staticmethod
    def _require_actor(request: SupportAction) -> None:
        """Who acts and why go into the audit trail: both must be there, and be text."""
        with as_update_failure():
            validate_free_text(request.actor, "actor", "Actor", 200)
            validate_free_text(request.reason, "reason", "Reason", 500)

    async def _bind_session(self, session_id: str) -> None:
        """Record in the store that `session_id` proved the contact, revoking the others, before
        the answer says so (the portal's next step is checked against the store). No other
        session takes a step meanwhile."""
        self._binding = session_id
        try:
            await self._account.bind_session(session_id, previous=self._state.owner_session)
        finally:
            self._binding = None

    # --- waiting and ending ----------------------------------------------------------------

    async def _wait(self, condition: Callable[[], bool], until: datetime | None = None) -> Wake:
        return await waiting.wait(
            condition, until, ledger=self._ledger, interrupted=self._interrupted
        )

    def _interrupted(self) -> bool:
        """Cancelled, or time to continue as new: the stage stops waiting."""
        return self._cancel is not None or waiting.history_is_long(self._policy)

    async def _finish(
        self, stage: Stage, event: str, actor: str = "system", **details: Any
    ) -> None:
        await self._ledger.flush()
        self._ledger.enter(stage)
        await self._account.close(stage, event, actor, **details)
