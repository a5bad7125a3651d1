"""The workflow's message contract: its start and result, its query answers, and every update
and signal with its answer.

Each takes and returns exactly one model, so that adding a field later never breaks a
running registration's history. Models only describe shapes; the rules that judge their
contents live in the domain modules (`contact`, `person`, `documents`, `password`,
`address`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from registration.address import PostalAddress
from registration.base import Model
from registration.contact import Channel, Contact
from registration.journey import (
    Agency,
    Attention,
    ConfirmationMethod,
    Deadline,
    Level,
    Origin,
    Stage,
)
from registration.person import Person, Profile
from registration.policy import Policy


class CounterClerk(Model):
    """The clerk who takes a step of a registration made at a service-center counter, and
    their center: any clerk of the registering center may continue it, no one else."""

    clerk_id: str
    service_center_id: str


class CounterStart(Model):
    """A registration from scratch at a counter: who registers the person, and the whole
    profile as the clerk entered it from the passport and SNILS in front of them."""

    clerk: CounterClerk
    profile: Profile


class CounterProfile(Model):
    """The profile of a registration made at a counter as its clerks last entered it (query
    `counter_profile`), for the correction form after the agencies disagreed; None for a
    registration started online."""

    profile: Profile | None = None


class RegistrationInput(Model):
    """Start of a registration. `carried` is set only by continue-as-new; `counter` only for
    a registration made at a service-center counter (`origin`)."""

    registration_id: str
    person: Person
    contact: Contact
    policy: Policy = Field(default_factory=lambda: Policy())
    carried: dict[str, Any] | None = None
    counter: CounterStart | None = None

    @property
    def origin(self) -> Origin:
        return Origin.PORTAL if self.counter is None else Origin.SERVICE_CENTER


class RegistrationResult(Model):
    stage: Stage
    level: Level
    method: ConfirmationMethod | None = None


class Rejection(Model):
    """Why the registration was sent back, or why an outside confirmation was refused."""

    code: str
    message: str
    at: datetime
    agency: Agency | None = None
    """The agency whose answer sent the registration back (None for anything else, and in
    registrations sent back before it was kept)."""


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


class SessionBound(Model):
    """A citizen step from a registration session (`service.sessions`). `session_id` is the
    session's public id, never its secret; None only from callers that predate sessions
    (support's CLI, histories recorded before them)."""

    session_id: str | None = None


class CounterBound(SessionBound):
    """A step that a registration made at a counter takes there: `counter` names the clerk,
    and no citizen session may take it. Portal registrations refuse a `counter`."""

    counter: CounterClerk | None = None


class SubmitCode(CounterBound):
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


class RequestNewCode(CounterBound):
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


class SubmitProfile(CounterBound):
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
    mismatched: list[str] | None = None
    """For a clerk's refusal: the documents read that differ from the verified profile
    (`passport_series`, `passport_number`, `snils`; the clerk holds them). None when nothing
    is named: a confirmation, a partner's refusal (partners are not told), or an answer from
    before the field."""


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
