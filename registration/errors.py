"""Error vocabulary: what the portal is told when a step is refused, and the typed failures
that activities raise so the workflow can tell an answer from a fault."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Refusal(StrEnum):
    """Stable machine-readable codes for a citizen step that was not applied."""

    INVALID_INPUT = "invalid_input"
    WRONG_STAGE = "wrong_stage"
    LOCKED = "locked"
    NO_ACTIVE_CODE = "no_active_code"
    CODE_EXPIRED = "code_expired"
    RESEND_TOO_SOON = "resend_too_soon"
    RESEND_LIMIT = "resend_limit"
    PASSWORD_NOT_STAGED = "password_not_staged"
    METHOD_NOT_CHOSEN = "method_not_chosen"
    LETTER_REORDER_TOO_SOON = "letter_reorder_too_soon"
    LETTER_REORDER_LIMIT = "letter_reorder_limit"
    ALREADY_FINISHED = "already_finished"
    DELIVERY_FAILED = "delivery_failed"
    UNAVAILABLE = "unavailable"
    CONTACT_NOT_PROVEN = "contact_not_proven"
    SESSION_REVOKED = "session_revoked"
    RATE_LIMITED = "rate_limited"
    AT_SERVICE_CENTER = "at_service_center"
    """A registration made at a service-center counter takes its steps there only."""
    REGISTRATION_IN_PROGRESS = "registration_in_progress"
    """The contact has a registration running already (a counter start joins none)."""
    LINK_INVALID = "link_invalid"
    """A password link that is unknown, used, or out of date (which one is not said)."""


class ConfirmationRefusal(StrEnum):
    """Why an identity confirmation (clerk, bank, e-signature) was refused. Recorded in the
    audit trail with the fields that differ; only a clerk, who holds the documents, is told
    which ones (`NOT_CONFIRMED` is all a partner hears)."""

    DOCUMENTS_MISMATCH = "documents_mismatch"  # a clerk read other documents
    IDENTITY_MISMATCH = "identity_mismatch"  # a bank vouched for another identity
    SIGNATURE_INVALID = "signature_invalid"  # the e-signature service rejected the signature
    SIGNATURE_OTHER_PERSON = "signature_other_person"  # a valid certificate of someone else
    SIGNATURE_OTHER_CHALLENGE = "signature_other_challenge"  # signed for another registration
    NOT_AWAITING = "not_awaiting_confirmation"  # only registrations from before the limits


NOT_CONFIRMED = "The data do not confirm this registration"
"""A partner's refusal, whatever differed: the answer must not teach which field to change."""


class FieldError(BaseModel):
    """One rule broken by one field: `field` is a dotted path, `message` is for the citizen."""

    field: str
    code: str
    message: str


class StepRefused(Exception):
    """A citizen step that was not applied, and why. Carried to the caller as the failure of
    a Workflow Update (type = `code`), so the answer is exact and nothing half-happens."""

    def __init__(
        self,
        code: Refusal,
        message: str,
        *,
        errors: list[FieldError] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []
        self.details = details or {}

    def payload(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "message": self.message,
            "errors": [e.model_dump() for e in self.errors],
            "details": self.details,
        }


class InvalidInput(StepRefused):
    """Input that breaks a validation rule; `errors` lists every broken rule."""

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0].message if errors else "invalid input"
        super().__init__(Refusal.INVALID_INPUT, first, errors=errors)


# ApplicationError types raised by activities (the `type` of temporalio's ApplicationError).
AGENCY_ANSWER_PENDING = "AgencyAnswerPending"
"""Retryable: the agency has the request and has not answered yet."""
AGENCY_REQUEST_REJECTED = "AgencyRequestRejected"
"""Non-retryable: the agency refused the request itself (4xx); asking again will not help."""
DELIVERY_REJECTED = "DeliveryRejected"
"""Non-retryable: a gateway refused the recipient (unknown number, bad address)."""
CONTACT_ALREADY_REGISTERED = "ContactAlreadyRegistered"
"""Non-retryable: an account with this phone or e-mail exists already."""
REGISTRATION_CLOSED = "RegistrationClosed"
"""Non-retryable: a registration the store has closed is not opened again (a replayed start)."""
PASSWORD_NOT_STAGED = "PasswordNotStaged"
"""Non-retryable: the workflow was told a password was set, but the store has none staged."""
CONTACT_SEND_LIMIT = "ContactSendLimit"
"""Non-retryable: the contact's code budget across registrations is spent for now; the
failure's first detail is `{"retry_at": <ISO 8601>, "limit": <store.sends.SendLimit>}`."""
PORTAL_REJECTED = "PortalRejected"
"""Non-retryable: the portal's webhook receiver refused an event (a 4xx other than 408/429)."""
TRANSIENT_FAULT = "TransientFault"
"""Retryable: a 5xx, a timeout or a connection failure talking to an outside party."""

NON_RETRYABLE = [
    AGENCY_REQUEST_REJECTED,
    DELIVERY_REJECTED,
    CONTACT_ALREADY_REGISTERED,
    PASSWORD_NOT_STAGED,
    REGISTRATION_CLOSED,
    CONTACT_SEND_LIMIT,
    PORTAL_REJECTED,
]


def send_limit_retry_at(details: Sequence[Any], *, fallback: datetime) -> datetime:
    """When a CONTACT_SEND_LIMIT failure (its `details`) allows a code again, in UTC and
    rounded up to the second; `fallback` when the details do not say."""
    first = details[0] if details else None
    retry_at = first.get("retry_at") if isinstance(first, dict) else None
    try:
        moment = datetime.fromisoformat(retry_at) if isinstance(retry_at, str) else fallback
    except ValueError:
        moment = fallback
    if moment.tzinfo is None:
        moment = fallback
    whole = moment.astimezone(UTC).replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)
