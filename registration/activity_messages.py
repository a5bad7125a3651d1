"""What the workflow and its activities pass each other: one model in, one model out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from registration.address import PostalAddress
from registration.base import Model
from registration.contact import Contact
from registration.journey import Agency, ConfirmationMethod, Level, Notice, Stage
from registration.messages import CounterClerk
from registration.person import Person, Profile


class SendContactCode(Model):
    """Send code number `sequence` of a registration; the same (registration, sequence) is the
    same message, so a retried activity never sends a second one."""

    registration_id: str
    contact: Contact
    sequence: int


class SentCode(Model):
    code_hash: str


class PortalEvent(Model):
    """A change of a registration the portal is told of by webhook (`registration.webhooks`).
    `id` is unique and stable (the same event keeps it across retries), so a receiver that
    honours it applies each event once."""

    id: str
    type: str = "registration.stage_changed"
    occurred_at: datetime
    registration_id: str
    stage: Stage
    level: Level
    method: ConfirmationMethod | None = None


class DeliverEvents(Model):
    events: list[PortalEvent]


class SendPasswordLink(Model):
    """Send link number `sequence` to set the password of a registration made at a counter,
    valid for `valid_for`; the same (registration, sequence) is the same link and message."""

    registration_id: str
    contact: Contact
    sequence: int
    valid_for: timedelta


class Notify(Model):
    registration_id: str
    contact: Contact
    notice: Notice
    key: str


class AgencyCheck(Model):
    """One request to an agency; `request_key` makes the request idempotent at the agency."""

    request_key: str
    profile: Profile


class CheckResult(Model):
    agency: Agency
    matched: bool
    reason_code: str | None = None
    reason: str | None = None


class InnResult(Model):
    found: bool
    inn: str | None = None


class OrderLetter(Model):
    registration_id: str
    sequence: int
    recipient: str
    address: PostalAddress


class LetterOrdered(Model):
    tracking_number: str
    code_hash: str


class TrackLetter(Model):
    tracking_number: str


class LetterStatus(Model):
    status: str
    description: str
    updated_at: datetime | None = None


class VerifySignature(Model):
    registration_id: str
    signed_request: str


class SignatureCheck(Model):
    valid: bool
    reason: str | None = None
    snils: str | None = None
    surname: str | None = None
    name: str | None = None
    patronymic: str | None = None
    challenge: str | None = None
    """The data the citizen signed: it must be the registration's current challenge."""


class AuditEntry(Model):
    """One line of the append-only audit trail; (registration_id, seq) makes it idempotent."""

    registration_id: str
    seq: int
    event: str
    stage: Stage
    actor: str = "system"
    details: dict[str, Any] = Field(default_factory=dict)


class AuditBatch(Model):
    """Audit lines of one registration queued together, written in one transaction."""

    entries: list[AuditEntry]


class OpenRegistration(Model):
    registration_id: str
    contact: Contact
    person: Person
    audit: AuditEntry
    counter: CounterClerk | None = None
    """The clerk registering the person at a counter; None for a portal registration."""


class OpenCounterAccount(Model):
    """Create the account of a registration made at a counter, without a password (the
    citizen sets it through a link)."""

    registration_id: str
    audit: AuditEntry


class ActivatePassword(Model):
    registration_id: str
    contact: Contact
    person: Person
    audit: AuditEntry
    staged_id: str | None = None
    """The staging to activate; None (histories before it) takes whatever is staged."""


class BindSession(Model):
    """Make `session_id` the registration's proven session and revoke every other one."""

    registration_id: str
    session_id: str
    audit: AuditEntry


class SaveVerifiedProfile(Model):
    registration_id: str
    profile: Profile
    inn: str | None
    audit: AuditEntry


class ConfirmIdentity(Model):
    registration_id: str
    method: ConfirmationMethod
    tax_cabinet_access: bool
    audit: AuditEntry


class CloseRegistration(Model):
    registration_id: str
    outcome: Stage
    audit: AuditEntry
