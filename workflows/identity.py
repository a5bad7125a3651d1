"""The identity stage's work: judging confirmations from clerks, banks and e-signatures, and
the registered letter's life in the post.

The rules are `registration.confirmations`, `registration.identity` and `registration.letters`;
this module applies them to the registration and writes down what follows (audit lines,
attention for support, notices). The workflow's handlers call it after checking who may act.
Workflow code: deterministic, run inside the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.esignature import SignatureActivities
    from activities.post import PostActivities
    from registration import confirmations, letters
    from registration.activity_messages import (
        OrderLetter,
        SignatureCheck,
        TrackLetter,
        VerifySignature,
    )
    from registration.address import PostalAddress, normalize_postal_address
    from registration.confirmations import Confirmation
    from registration.errors import NOT_CONFIRMED, ConfirmationRefusal, Refusal
    from registration.identity import compare_certificate, compare_documents, compare_identity
    from registration.journey import Attention, ConfirmationMethod, Notice, Stage
    from registration.letters import LetterEvent
    from registration.messages import BankConfirmation, ClerkConfirmation, ConfirmationVerdict
    from registration.person import Profile
    from registration.policy import Policy
    from workflows.ledger import Ledger
    from workflows.options import INTERACTIVE, TRACKING
    from workflows.patches import CONFIRMATION_LIMITS, SIGNATURE_CHALLENGE, taken
    from workflows.refusals import refuse
    from workflows.state import RegistrationState

Notifier = Callable[[Notice, str], Awaitable[None]]


class Identity:
    def __init__(
        self,
        registration_id: str,
        state: RegistrationState,
        policy: Policy,
        ledger: Ledger,
        notify: Notifier,
    ) -> None:
        self._id = registration_id
        self._state = state
        self._policy = policy
        self._ledger = ledger
        self._notify = notify

    def profile(self) -> Profile:
        """The verified profile, which every stage from verification on has."""
        profile = self._state.profile
        if profile is None:
            refuse(Refusal.WRONG_STAGE, "No profile was submitted", stage=self._state.stage)
        return profile

    # --- confirmations ----------------------------------------------------------------------

    def judge_clerk(self, seen: ClerkConfirmation, *, limits: bool = True) -> ConfirmationVerdict:
        """Confirmed, or refused naming the documents that differ (the clerk holds them)."""
        actor = f"clerk:{seen.clerk_id}"
        where = {"clerk_id": seen.clerk_id, "service_center_id": seen.service_center_id}
        self._state.service_center_id = seen.service_center_id
        mismatched = compare_documents(self.profile(), seen)
        if not mismatched:
            return self.confirmed(
                Confirmation(method=ConfirmationMethod.IN_PERSON, actor=actor, details=where)
            )
        refusal = ConfirmationRefusal.DOCUMENTS_MISMATCH
        told = "Documents do not match: " + ", ".join(mismatched)
        if not limits:
            verdict = self.list_refusal(refusal, told, actor, **where)
        else:
            verdict = self.refuse(refusal, told, actor, mismatched=mismatched, **where)
        # Only the answer names them: the commands (audit lines, state) are as before.
        return verdict.model_copy(update={"mismatched": mismatched})

    def judge_bank(self, vouched: BankConfirmation, *, limits: bool = True) -> ConfirmationVerdict:
        """Confirmed, or refused without saying what differs (the audit trail says it)."""
        actor, where = f"bank:{vouched.bank_id}", {"bank_id": vouched.bank_id}
        mismatched = compare_identity(self.profile(), vouched)
        if not mismatched:
            return self.confirmed(
                Confirmation(method=ConfirmationMethod.BANK, actor=actor, details=where)
            )
        refusal = ConfirmationRefusal.IDENTITY_MISMATCH
        if not limits:
            told = "Bank data do not match: " + ", ".join(mismatched)
            return self.list_refusal(refusal, told, actor)
        return self.refuse(refusal, NOT_CONFIRMED, actor, mismatched=mismatched)

    def judge_signature(self, check: SignatureCheck) -> ConfirmationVerdict:
        """Confirmed by a valid qualified signature of this person over this registration's
        challenge, or refused without saying why (the audit trail says it)."""
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
        mismatched = compare_certificate(self.profile(), check)
        if mismatched:
            return self._refuse_signature(
                ConfirmationRefusal.SIGNATURE_OTHER_PERSON,
                "The certificate belongs to another person",
                mismatched=mismatched,
            )
        self._state.signature_challenge = None  # used: it confirms nothing else
        return self.confirmed(Confirmation(method=ConfirmationMethod.ESIGNATURE, actor="citizen"))

    def _signed_our_challenge(self, check: SignatureCheck) -> bool:
        """A signature confirms this registration only over its current challenge, which names
        the registration and a random nonce: a request signed once cannot be replayed on
        another registration of the same person. A registration that reached the identity
        stage before challenges gets one now (and this signature is refused)."""
        if not taken(SIGNATURE_CHALLENGE):
            return True
        state = self._state
        if state.signature_challenge is None:
            state.signature_challenge = self.new_challenge()
            return False
        return check.challenge == state.signature_challenge

    def new_challenge(self) -> str:
        return f"gosreg-identity:{self._id}:{workflow.uuid4().hex}"

    def _refuse_signature(
        self, refusal: ConfirmationRefusal, reason: str, **details: Any
    ) -> ConfirmationVerdict:
        """`reason` is what registrations from before CONFIRMATION_LIMITS answered."""
        if not taken(CONFIRMATION_LIMITS):
            return self.list_refusal(refusal, reason, "citizen")
        return self.refuse(refusal, NOT_CONFIRMED, "citizen", **details)

    def refuse(
        self, refusal: ConfirmationRefusal, told: str, actor: str, **details: Any
    ) -> ConfirmationVerdict:
        """Refuse a confirmation judged at the identity stage. The caller is `told` that much;
        the audit trail gets `details` (which fields differ). Too many refusals lock
        confirmation and ask support to look (`registration.confirmations`)."""
        state, ledger = self._state, self._ledger
        refused = confirmations.refuse(
            state.confirmations, refusal, told, workflow.now(), self._policy
        )
        ledger.record("confirmation_refused", actor, reason=refusal, **details)
        if refused.locked_until is None:
            if state.attention is not Attention.CONFIRMATION_LOCKED:  # the stronger word stays
                ledger.flag(Attention.CONFIRMATION_REFUSED)
        else:
            ledger.record(
                "confirmation_locked",
                refused=refused.count,
                locked_until=refused.locked_until.isoformat(),
            )
            ledger.flag(Attention.CONFIRMATION_LOCKED)
        return ConfirmationVerdict(
            confirmed=False, reason=told, stage=state.stage, locked_until=refused.locked_until
        )

    def may_confirm(self, actor: str) -> bool:
        """Before CONFIRMATION_LIMITS: a confirmation out of its stage was refused and listed."""
        if self._state.stage is Stage.IDENTITY and self._state.confirmations.decided is None:
            return True
        self.list_refusal(
            ConfirmationRefusal.NOT_AWAITING,
            f"The registration is at stage {self._state.stage}",
            actor,
        )
        return False

    def list_refusal(
        self, refusal: ConfirmationRefusal, told: str, actor: str, **details: Any
    ) -> ConfirmationVerdict:
        """Before CONFIRMATION_LIMITS: every refusal was listed, recorded and flagged, uncounted."""
        confirmations.list_refusal(self._state.confirmations, refusal, told, workflow.now())
        self._ledger.record("confirmation_refused", actor, reason=refusal, **details)
        self._ledger.flag(Attention.CONFIRMATION_REFUSED)
        return ConfirmationVerdict(confirmed=False, reason=told, stage=self._state.stage)

    def confirm_by_letter(self) -> None:
        """The right code from the letter: decided, naming the letter that carried it."""
        tracking_number = self._state.letter.tracking_number or ""
        self.decide(
            Confirmation(
                method=ConfirmationMethod.LETTER,
                actor="citizen",
                details={"tracking_number": tracking_number},
            )
        )

    async def verify_signature(self, signed_request: str) -> SignatureCheck:
        """What the e-signature service says of a signed request: refused, changing nothing,
        if it does not answer."""
        try:
            return await workflow.execute_activity_method(
                SignatureActivities.verify_signature,
                VerifySignature(registration_id=self._id, signed_request=signed_request),
                **INTERACTIVE,
            )
        except ActivityError:
            refuse(Refusal.UNAVAILABLE, "The signature service did not answer: try again")

    def decide(self, confirmation: Confirmation) -> None:
        """Durable now: the main loop writes it down, and the registration is confirmed."""
        self._state.confirmations.decided = confirmation

    def confirmed(self, confirmation: Confirmation) -> ConfirmationVerdict:
        self.decide(confirmation)
        return ConfirmationVerdict(confirmed=True, stage=Stage.CONFIRMED)

    # --- the registered letter ----------------------------------------------------------------

    async def order_letter(self, address: PostalAddress) -> None:
        """Order the next letter to `address`: refused, recording nothing, if the post does
        not take it."""
        letter, policy = self._state.letter, self._policy
        profile = self.profile()
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
        self._ledger.record(
            "letter_ordered", sequence=sequence, tracking_number=ordered.tracking_number
        )

    async def letter_event(self, event: LetterEvent) -> None:
        """Do what the letter needs now (`letters.next_event`)."""
        letter = self._state.letter
        match event:
            case LetterEvent.EXPIRE:
                letters.expire(letter, workflow.now())
                self._ledger.record("letter_code_expired", sequence=letter.sequence)
                self._ledger.flag(Attention.LETTER_CODE_EXPIRED)
            case LetterEvent.TRACK:
                await self._refresh_tracking()
            case LetterEvent.REMIND:
                letter.reminder_due_at = None
                await self._notify(Notice.LETTER_REMINDER, f"letter-reminder:{letter.sequence}")

    async def _refresh_tracking(self) -> None:
        letter = self._state.letter
        letter.next_tracking_at = workflow.now() + self._policy.letter_tracking_interval
        if letter.tracking_number is None:  # never ordered: nothing to track
            return
        try:
            status = await workflow.execute_activity_method(
                PostActivities.track_letter,
                TrackLetter(tracking_number=letter.tracking_number),
                **TRACKING,
            )
        except ActivityError:
            return  # the next refresh will try again
        if letters.record_status(letter, status.status, status.updated_at, workflow.now()):
            self._ledger.record("letter_status", status=status.status)
