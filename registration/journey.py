"""The journey's vocabulary: its stages and levels, the ways an identity is confirmed, the
agencies asked, why support should look, and what the citizen is told."""

from __future__ import annotations

from enum import StrEnum


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


class Origin(StrEnum):
    """Where a registration began: online through the portal, or at a service-center counter
    (a clerk enters everything but the password, which the citizen sets later by a link)."""

    PORTAL = "portal"
    SERVICE_CENTER = "service_center"


class Level(StrEnum):
    NONE = "none"
    SIMPLIFIED = "simplified"
    STANDARD = "standard"
    CONFIRMED = "confirmed"


class ConfirmationMethod(StrEnum):
    LETTER = "letter"
    IN_PERSON = "in_person"
    ESIGNATURE = "esignature"
    BANK = "bank"
    SERVICE_CENTER = "service_center"
    """Registered from scratch at a service-center counter: the clerk saw the documents, so
    the account is confirmed once the agencies agree, with no identity stage."""


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
