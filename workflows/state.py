"""What a registration workflow remembers, and how it is shown.

`RegistrationState` is the whole memory of one registration: it is what continue-as-new
carries to the next run, so everything the journey needs must live here and nowhere else.
It holds keyed hashes of codes (never codes); `view()` is the query answer, without them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from registration.models import (
    Agency,
    Attention,
    AuditEntry,
    Channel,
    ConfirmationMethod,
    LetterView,
    Level,
    Model,
    PostalAddress,
    Profile,
    RegistrationView,
    Rejection,
    Stage,
)
from registration.policy import Policy
from workflows.details import describe

REFUSALS_KEPT = 5
"""Refused confirmations remembered one by one; older ones are only counted."""


class CodeState(Model):
    """The current contact code (SMS code or e-mail link token) and the resend history."""

    sequence: int = 0
    code_hash: str | None = None
    expires_at: datetime | None = None
    attempts_left: int = 0
    sent_at: list[datetime] = Field(default_factory=list)

    def sends_since(self, moment: datetime) -> int:
        return sum(1 for sent in self.sent_at if sent > moment)


class LetterState(Model):
    sequence: int = 0
    address: PostalAddress | None = None
    tracking_number: str | None = None
    code_hash: str | None = None
    ordered_at: datetime | None = None
    code_expires_at: datetime | None = None
    status: str = "not_ordered"
    status_updated_at: datetime | None = None
    order_times: list[datetime] = Field(default_factory=list)
    reminder_due_at: datetime | None = None
    next_tracking_at: datetime | None = None
    wrong_entries: list[datetime] = Field(default_factory=list)
    locked_until: datetime | None = None


class Confirmation(Model):
    """A decided identity confirmation, waiting for the main loop to write it down."""

    method: ConfirmationMethod
    actor: str
    details: dict[str, str] = Field(default_factory=dict)


class RegistrationState(Model):
    stage: Stage = Stage.CONTACT
    level: Level = Level.NONE
    started_at: datetime
    stage_entered_at: datetime
    audit_seq: int = 0
    audit_outbox: list[AuditEntry] = Field(default_factory=list)
    code: CodeState = Field(default_factory=CodeState)
    consecutive_failures: int = 0
    locked_until: datetime | None = None
    owner_session: str | None = None
    """The session that entered the right contact code last: only it takes later steps."""
    profile: Profile | None = None
    profile_version: int = 0
    pending_checks: list[Agency] = Field(default_factory=list)
    pending_since: datetime | None = None
    verification_deadline: datetime | None = None
    last_rejection: Rejection | None = None
    inn_found: bool | None = None
    method: ConfirmationMethod | None = None
    letter: LetterState = Field(default_factory=LetterState)
    confirmation: Confirmation | None = None
    refused_confirmations: list[Rejection] = Field(default_factory=list)
    """The last `REFUSALS_KEPT` refused confirmations (all of them, in runs from before the
    confirmation limits)."""
    confirmations_refused: int = 0
    confirmation_failures: int = 0
    """Refused since the last lock: `policy.confirmation_attempts` of them lock confirmation."""
    confirmation_locked_until: datetime | None = None
    signature_challenge: str | None = None
    """What an e-signature must be over to confirm this registration (`SIGNATURE_CHALLENGE`)."""
    service_center_id: str | None = None
    attention: Attention | None = None
    runs: int = 1

    def view(
        self, registration_id: str, channel: Channel, policy: Policy, now: datetime
    ) -> RegistrationView:
        """The query answer: the state as the portal and support see it, with no secrets."""
        contact = self.stage is Stage.CONTACT
        return RegistrationView(
            registration_id=registration_id,
            stage=self.stage,
            level=self.level,
            stage_entered_at=self.stage_entered_at,
            channel=channel,
            expires_at=self.started_at + policy.contact_deadline if contact else None,
            **(self._code_fields(policy, now) if contact else {}),
            pending_checks=list(self.pending_checks),
            verification_deadline=(
                self.verification_deadline if self.stage is Stage.VERIFICATION else None
            ),
            last_rejection=self.last_rejection,
            method=self.method,
            letter=self.letter_view(policy),
            letter_code_locked_until=(
                self.letter.locked_until
                if self.letter.locked_until and now < self.letter.locked_until
                else None
            ),
            refused_confirmations=list(self.refused_confirmations),
            confirmations_refused=self.refusal_count,
            confirmation_locked_until=self.confirmation_lock(now),
            signature_challenge=(
                self.signature_challenge if self.stage is Stage.IDENTITY else None
            ),
            identity_confirmed_by=self.confirmation.method if self.confirmation else None,
            inn_found=self.inn_found,
            attention=self.attention,
            summary=describe(self, channel, policy, now),
        )

    def claim_view(
        self, registration_id: str, channel: Channel, policy: Policy, now: datetime
    ) -> RegistrationView:
        """What a session that is not the owner sees once the contact is confirmed: the
        contact stage of its own attempt to prove the contact, nothing of the registration's
        progress (or only that it has ended)."""
        if self.stage.is_final:
            return RegistrationView(
                registration_id=registration_id,
                stage=self.stage,
                level=Level.NONE,
                stage_entered_at=self.stage_entered_at,
                channel=channel,
            )
        sent = self.code.sent_at
        return RegistrationView(
            registration_id=registration_id,
            stage=Stage.CONTACT,
            level=Level.NONE,
            stage_entered_at=sent[-1] if sent else self.stage_entered_at,
            channel=channel,
            **self._code_fields(policy, now),
        )

    def _code_fields(self, policy: Policy, now: datetime) -> dict[str, Any]:
        """The contact code as the view shows it while a contact is being proven."""
        code = self.code
        return {
            "code_expires_at": code.expires_at if code.code_hash else None,
            "code_attempts_left": code.attempts_left,
            "failures_before_lock": policy.failures_before_lock - self.consecutive_failures,
            "locked_until": self.locked_until if self._locked(now) else None,
            "next_code_allowed_at": self.next_code_allowed_at(policy),
            "resends_left_today": self.resends_left_today(policy, now),
        }

    def next_code_allowed_at(self, policy: Policy) -> datetime:
        if not self.code.sent_at:
            return self.stage_entered_at
        return self.code.sent_at[-1] + policy.resend_cooldown

    def resends_left_today(self, policy: Policy, now: datetime) -> int:
        return max(0, policy.resends_per_day - self.code.sends_since(now - timedelta(days=1)))

    @property
    def refusal_count(self) -> int:
        """Every refused confirmation (runs from before the count only listed them)."""
        return max(self.confirmations_refused, len(self.refused_confirmations))

    def confirmation_lock(self, now: datetime) -> datetime | None:
        """Until when no confirmation is taken, if that is still ahead."""
        locked_until = self.confirmation_locked_until
        return locked_until if locked_until is not None and now < locked_until else None

    def _locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def letter_view(self, policy: Policy) -> LetterView | None:
        letter = self.letter
        if letter.tracking_number is None or letter.ordered_at is None:
            return None
        assert letter.code_expires_at is not None
        window_start = letter.ordered_at - policy.letter_order_window
        return LetterView(
            tracking_number=letter.tracking_number,
            ordered_at=letter.ordered_at,
            code_expires_at=letter.code_expires_at,
            status=letter.status,
            status_updated_at=letter.status_updated_at,
            orders_in_window=sum(1 for t in letter.order_times if t > window_start),
            next_order_allowed_at=letter.ordered_at + policy.letter_reorder_gap,
        )
