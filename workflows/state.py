"""What a registration workflow remembers.

`RegistrationState` is the whole memory of one registration: it is what continue-as-new
carries to the next run, so everything the journey needs must live here and nowhere else.
It holds keyed hashes of codes (never codes). Each rule group keeps its part in its own small
state type (`CodeState`, `LetterState`, `ConfirmationState`), which its pure module in
`registration/` reads and changes; `workflows/views.py` turns the state into query answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from registration.activity_messages import AuditEntry, PortalEvent
from registration.base import Model
from registration.confirmations import ConfirmationState
from registration.contact_code import CodeState
from registration.journey import Agency, Attention, ConfirmationMethod, Level, Stage
from registration.letters import LetterState
from registration.messages import Rejection
from registration.person import Profile

MOVED: dict[str, tuple[str, str]] = {
    "consecutive_failures": ("code", "failures"),
    "locked_until": ("code", "locked_until"),
    "confirmation": ("confirmations", "decided"),
    "refused_confirmations": ("confirmations", "refused"),
    "confirmations_refused": ("confirmations", "refused_total"),
    "confirmation_failures": ("confirmations", "failures"),
    "confirmation_locked_until": ("confirmations", "locked_until"),
}
"""Fields that runs recorded before the rule modules kept at the top level: a state carried
from such a run (continue-as-new) has them there, and they move into their rule's part."""


class RegistrationState(Model):
    stage: Stage = Stage.CONTACT
    level: Level = Level.NONE
    started_at: datetime
    stage_entered_at: datetime
    audit_seq: int = 0
    audit_outbox: list[AuditEntry] = Field(default_factory=list)
    code: CodeState = Field(default_factory=CodeState)
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
    confirmations: ConfirmationState = Field(default_factory=ConfirmationState)
    signature_challenge: str | None = None
    """What an e-signature must be over to confirm this registration (`SIGNATURE_CHALLENGE`)."""
    service_center_id: str | None = None
    events_sent: int = 0
    """Events handed to the portal's webhook so far: the next one's id follows."""
    events_outbox: list[PortalEvent] = Field(default_factory=list)
    """Events to hand to the portal (`Ledger.flush`)."""
    password_links: int = 0
    """Links sent to set the password (registrations made at a counter)."""
    attention: Attention | None = None
    runs: int = 1

    @model_validator(mode="before")
    @classmethod
    def _move_old_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not MOVED.keys() & data.keys():
            return data
        data = dict(data)
        for old, (part, field) in MOVED.items():
            if old in data:
                value = data.pop(old)
                data[part] = {**data.get(part, {}), field: value}
        return data
