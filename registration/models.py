"""The vocabulary of the journey: pydantic models shared by workflows, activities and the API.

Every workflow, update, signal and activity takes exactly one of these models and returns
one, so that adding a field later never breaks a running registration's history. Models here
only describe shapes; the rules that judge their contents live in `registration.validators`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from registration.policy import Policy


class Model(BaseModel):
    """Base for every message: unknown fields are ignored so that old histories still load."""

    model_config = ConfigDict(extra="ignore")


# --- enumerations ---------------------------------------------------------------------------


class Stage(StrEnum):
    CONTACT = "contact_confirmation"
    PASSWORD = "password"
    PROFILE = "profile"
    VERIFICATION = "verification"
    IDENTITY = "identity_confirmation"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUSED = "refused"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STAGES


FINAL_STAGES = frozenset({Stage.CONFIRMED, Stage.CANCELLED, Stage.EXPIRED, Stage.REFUSED})


class Level(StrEnum):
    NONE = "none"
    SIMPLIFIED = "simplified"
    STANDARD = "standard"
    CONFIRMED = "confirmed"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class ConfirmationMethod(StrEnum):
    LETTER = "letter"
    IN_PERSON = "in_person"
    ESIGNATURE = "esignature"
    BANK = "bank"


class Agency(StrEnum):
    PENSION_FUND = "pension_fund"
    MVD = "mvd"
    FNS = "fns"


class Attention(StrEnum):
    """Why a person (support) should look at a registration; the workflow sets it and clears it
    when the registration moves on. Searchable as `RegistrationAttention`."""

    VERIFICATION_TIMEOUT = "verification_timeout"  # an agency did not answer in time
    AGENCY_REQUEST_REJECTED = "agency_request_rejected"  # an agency refused our request
    CONFIRMATION_REFUSED = "confirmation_refused"  # a clerk, bank or signature did not match
    CONFIRMATION_LOCKED = "confirmation_locked"  # too many refused: confirmation is locked
    LETTER_CODE_EXPIRED = "letter_code_expired"  # the letter's code ran out unused
    NOTIFICATION_FAILED = "notification_failed"  # a notice could not be delivered for a day


class RejectionCode(StrEnum):
    """Why the workflow sent a registration back or refused it (`Rejection.code`), besides the
    reason codes agencies give for a mismatch, which are passed on as they come."""

    CONTACT_ALREADY_REGISTERED = "contact_already_registered"  # an account has the contact
    CONTACT_UNREACHABLE = "contact_unreachable"  # the gateway refused to deliver the code
    VERIFICATION_TIMEOUT = "verification_timeout"  # an agency did not answer by the deadline
    REQUEST_REJECTED = "request_rejected"  # an agency refused our request itself
    MISMATCH = "mismatch"  # an agency found a mismatch and gave no reason code


class Deadline(StrEnum):
    """Deadlines support may extend (`extend_deadline`)."""

    VERIFICATION = "verification"  # how long the agencies are asked before giving up
    LETTER_CODE = "letter_code"  # how long the registered letter's code stays valid


class Notice(StrEnum):
    """What the user is told outside the portal (SMS or e-mail, by their contact channel)."""

    STANDARD_GRANTED = "standard_granted"
    VERIFICATION_FAILED = "verification_failed"
    LETTER_REMINDER = "letter_reminder"
    CONFIRMED = "confirmed"


# --- the person ------------------------------------------------------------------------------


class Contact(Model):
    """A confirmed-or-to-be-confirmed contact: `+7XXXXXXXXXX` for SMS, an address for e-mail."""

    channel: Channel
    address: str


class Person(Model):
    surname: str
    name: str


class Profile(Model):
    """The profile as the passport shows it; fields are stored normalised (see validators)."""

    surname: str
    name: str
    patronymic: str | None = None
    gender: Gender
    birth_date: date
    birth_place: str
    citizenship: str = "RUS"
    passport_series: str
    passport_number: str
    passport_issue_date: date
    passport_issuer: str
    division_code: str
    snils: str


class PostalAddress(Model):
    postcode: str
    region: str
    city: str
    street: str
    house: str
    apartment: str | None = None


# --- workflow start, result and query ---------------------------------------------------------


class RegistrationInput(Model):
    """Start of a registration. `carried` is set only by continue-as-new."""

    registration_id: str
    person: Person
    contact: Contact
    policy: Policy = Field(default_factory=lambda: Policy())
    carried: dict[str, Any] | None = None


class RegistrationResult(Model):
    stage: Stage
    level: Level
    method: ConfirmationMethod | None = None


class Rejection(Model):
    """Why the registration was sent back, or why an outside confirmation was refused."""

    code: str
    message: str
    at: datetime


class LetterView(Model):
    tracking_number: str
    ordered_at: datetime
    code_expires_at: datetime
    status: str
    status_updated_at: datetime | None = None
    orders_in_window: int
    next_order_allowed_at: datetime


class RegistrationView(Model):
    """The query answer: everything the portal and support need, and no secret."""

    registration_id: str
    stage: Stage
    level: Level
    stage_entered_at: datetime
    channel: Channel
    expires_at: datetime | None = None
    code_expires_at: datetime | None = None
    code_attempts_left: int | None = None
    failures_before_lock: int | None = None
    locked_until: datetime | None = None
    next_code_allowed_at: datetime | None = None
    resends_left_today: int | None = None
    pending_checks: list[Agency] = Field(default_factory=list)
    verification_deadline: datetime | None = None
    last_rejection: Rejection | None = None
    method: ConfirmationMethod | None = None
    letter: LetterView | None = None
    letter_code_locked_until: datetime | None = None
    refused_confirmations: list[Rejection] = Field(default_factory=list)
    """The last few refused confirmations; `confirmations_refused` counts them all."""
    confirmations_refused: int = 0
    confirmation_locked_until: datetime | None = None
    signature_challenge: str | None = None
    """What the citizen signs to confirm by e-signature (at the identity stage): the signature
    confirms this registration only when it is over this text, once."""
    identity_confirmed_by: ConfirmationMethod | None = None
    inn_found: bool | None = None
    attention: Attention | None = None
    summary: str = ""
    """The registration in plain words, as support sees it in the Temporal UI."""


# --- updates and signals (citizen, clerk, bank, support) --------------------------------------


class SessionBound(Model):
    """A citizen step from a registration session (`service.sessions`). `session_id` is the
    session's public id, never its secret; None only from callers that predate sessions
    (support's CLI, histories recorded before them)."""

    session_id: str | None = None


class SubmitCode(SessionBound):
    """A code the citizen typed, already turned into its keyed hash by the caller
    (`registration.codes.hash_code`): the code itself never enters Temporal. The session
    that enters the right contact code becomes the registration's owner."""

    code_hash: str


class CodeVerdict(Model):
    accepted: bool
    attempts_left: int
    code_burnt: bool = False
    locked_until: datetime | None = None
    stage: Stage


class RequestNewCode(SessionBound):
    """From a session that is not the owner once the contact is confirmed, this asks for a
    code that proves the contact again (a takeover by the contact's holder)."""


class CodeSentView(Model):
    channel: Channel
    code_expires_at: datetime
    next_code_allowed_at: datetime
    resends_left_today: int


class PasswordSet(SessionBound):
    """The caller has hashed the password and staged the hash in the account store, as the
    staging `staged_id`: only that staging is activated."""

    staged_id: str | None = None


class StepDone(Model):
    stage: Stage
    level: Level


class SubmitProfile(SessionBound):
    profile: Profile


class ChooseMethod(SessionBound):
    method: ConfirmationMethod
    address: PostalAddress | None = None


class MethodChosen(Model):
    method: ConfirmationMethod
    letter: LetterView | None = None


class SubmitSignature(Model):
    signed_request: str


class ClerkConfirmation(Model):
    clerk_id: str
    service_center_id: str
    passport_series: str
    passport_number: str
    snils: str


class BankConfirmation(Model):
    bank_id: str
    surname: str
    name: str
    patronymic: str | None = None
    birth_date: date
    snils: str
    passport_series: str
    passport_number: str


class ConfirmationVerdict(Model):
    confirmed: bool
    reason: str | None = None
    stage: Stage
    locked_until: datetime | None = None
    """Set when this refusal used up the attempts: no confirmation is taken until then."""


class SupportAction(Model):
    """An action taken for the citizen by someone else; `actor` goes into the audit trail."""

    actor: str
    reason: str


class Cancel(SupportAction):
    session_id: str | None = None
    """The citizen's session when the citizen cancels; None when support does."""


class ExtendDeadline(SupportAction):
    """Support: give the agencies, or the citizen's letter code, `days` more."""

    deadline: Deadline
    days: int


class DeadlineExtended(Model):
    deadline: Deadline
    until: datetime


# --- activities --------------------------------------------------------------------------------


class SendContactCode(Model):
    """Send code number `sequence` of a registration; the same (registration, sequence) is the
    same message, so a retried activity never sends a second one."""

    registration_id: str
    contact: Contact
    sequence: int


class SentCode(Model):
    code_hash: str


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


class OpenRegistration(Model):
    registration_id: str
    contact: Contact
    person: Person
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
