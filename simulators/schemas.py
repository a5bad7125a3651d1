"""Wire shapes of the simulated parties, the outbox and the control routes.

Request bodies forbid unknown fields so that a typo in one of our clients fails loudly (422)
instead of being silently ignored by a lenient simulator.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Party = Literal[
    "sms-gateway", "email-gateway", "pension-fund", "mvd", "fns", "post", "esignature", "portal"
]
PARTIES: tuple[Party, ...] = (
    "sms-gateway",
    "email-gateway",
    "pension-fund",
    "mvd",
    "fns",
    "post",
    "esignature",
    "portal",
)
AgencyParty = Literal["pension-fund", "mvd", "fns"]


def _digits_only(value: str) -> str:
    return re.sub(r"\D", "", value)


# Agencies accept SNILS as 11 digits or in its printed form `NNN-NNN-NNN NN`.
Snils = Annotated[
    str, Field(pattern=r"^\d{3}-?\d{3}-?\d{3}[ -]?\d{2}$"), AfterValidator(_digits_only)
]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- gateways ------------------------------------------------------------------------------------


class SmsIn(Request):
    to: Annotated[str, Field(pattern=r"^\+7\d{10}$")]
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    idempotency_key: Key


class EmailIn(Request):
    to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    body: Annotated[str, Field(min_length=1, max_length=20_000)]
    idempotency_key: Key


class MessageAccepted(BaseModel):
    message_id: str


class MessageKind(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class ReceivedEvent(BaseModel):
    """One webhook event as the simulated portal received it (once per id)."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]
    deliveries: int
    """How often it arrived: a receiver that honours the id applies it once all the same."""
    received_at: datetime


class OutboxMessage(BaseModel):
    """One message as the gateway "sent" it."""

    message_id: str
    kind: MessageKind
    to: str
    text: str | None = None
    subject: str | None = None
    body: str | None = None
    idempotency_key: str
    sent_at: datetime


# --- agencies ------------------------------------------------------------------------------------


class PensionFundCheckIn(Request):
    request_key: Key
    snils: Snils
    surname: Name
    name: Name
    patronymic: Name | None = None
    birth_date: date


class MvdCheckIn(Request):
    request_key: Key
    passport_series: Annotated[str, Field(pattern=r"^\d{4}$")]
    passport_number: Annotated[str, Field(pattern=r"^\d{6}$")]
    passport_issue_date: date
    division_code: Annotated[str, Field(pattern=r"^\d{3}-?\d{3}$")]
    surname: Name
    name: Name
    patronymic: Name | None = None
    birth_date: date


class InnRequestIn(Request):
    request_key: Key
    snils: Snils
    surname: Name
    name: Name
    patronymic: Name | None = None
    birth_date: date
    passport_series: Annotated[str, Field(pattern=r"^\d{4}$")]
    passport_number: Annotated[str, Field(pattern=r"^\d{6}$")]


AgencyRequestIn = PensionFundCheckIn | MvdCheckIn | InnRequestIn


class RequestAccepted(BaseModel):
    request_id: str
    status: Literal["pending"] = "pending"


class CheckAnswer(BaseModel):
    """What the Pension Fund or the MVD concludes."""

    matched: bool
    reason_code: str | None = None
    reason: str | None = None


class InnAnswer(BaseModel):
    found: bool
    inn: str | None = None


class RequestStatus(BaseModel):
    """`status` is `pending` until the agency answers; then the answer's fields are filled in."""

    request_id: str
    status: Literal["pending", "done"]


class CheckStatus(RequestStatus):
    matched: bool | None = None
    reason_code: str | None = None
    reason: str | None = None


class InnStatus(RequestStatus):
    found: bool | None = None
    inn: str | None = None


# --- Russian Post --------------------------------------------------------------------------------


class Address(Request):
    postcode: Annotated[str, Field(pattern=r"^\d{6}$")]
    region: Name
    city: Name
    street: Name
    house: Annotated[str, Field(min_length=1, max_length=20)]
    apartment: Annotated[str, Field(min_length=1, max_length=20)] | None = None


class LetterIn(Request):
    idempotency_key: Key
    recipient: Annotated[str, Field(min_length=1, max_length=300)]
    address: Address
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


class LetterAccepted(BaseModel):
    tracking_number: str


class LetterStage(StrEnum):
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived_at_post_office"


class LetterTracking(BaseModel):
    tracking_number: str
    status: LetterStage
    description: str
    updated_at: datetime


class OutboxLetter(BaseModel):
    tracking_number: str
    idempotency_key: str
    recipient: str
    address: Address
    body: str
    ordered_at: datetime


# --- e-signature ---------------------------------------------------------------------------------


class VerificationIn(Request):
    signed_request: Annotated[str, Field(min_length=1, max_length=20_000)]


class Certificate(BaseModel):
    snils: str
    surname: str
    name: str
    patronymic: str | None = None


class Verification(BaseModel):
    valid: bool
    reason: str | None = None
    certificate: Certificate | None = None
    challenge: str | None = None
    """The challenge the request signed (the signed content), when valid."""


# --- outbox counts and control -------------------------------------------------------------------


class PartyCounts(BaseModel):
    """What one party saw since the last reset."""

    distinct: int = 0
    """New messages, letters, agency requests or signature verifications."""
    duplicates: int = 0
    """Repeats of an idempotency key / request key, answered without a second send."""
    rejected: int = 0
    """Requests refused with a 4xx (unknown subscriber, malformed signature, ...)."""
    polls: int = 0
    """Reads of a request's or a letter's status."""
    faults: int = 0
    """Calls that met an injected fault."""


class FaultMode(StrEnum):
    ERROR_500 = "error_500"
    """Answer 500 without doing anything."""
    SLOW = "slow"
    """Wait `delay_seconds`, then do the work and answer."""
    TIMEOUT = "timeout"
    """Do the work, then hold the answer `delay_seconds` (longer than the client's deadline):
    the side effect happened but the caller cannot know it, so its retry must be idempotent."""


class Fault(Request):
    party: Party
    mode: FaultMode
    count: Annotated[int, Field(ge=1)] = 1
    """How many of the party's next calls are affected."""
    delay_seconds: Annotated[float, Field(ge=0)] = 30.0


class ClockAdvance(Request):
    advance_seconds: Annotated[float, Field(ge=0)]


class ClockNow(BaseModel):
    now: datetime


def fingerprint(request: BaseModel, key_field: str) -> dict[str, Any]:
    """The content of a request without its idempotency key, to tell a repeat from a reuse."""
    return request.model_dump(mode="json", exclude={key_field})
