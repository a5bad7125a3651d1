"""Examples for the OpenAPI document: one person's registration, as the routes see it.

Built from the models themselves, so that an example that no longer fits its schema fails at
import instead of misleading a reader of /docs. The person is the README's (and the demo's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from registration.address import PostalAddress
from registration.contact import Channel
from registration.journey import Agency, ConfirmationMethod, Deadline, Level, Stage
from registration.messages import (
    CodeSentView,
    CodeVerdict,
    ConfirmationVerdict,
    DeadlineExtended,
    LetterView,
    MethodChosen,
    RegistrationView,
    StepDone,
)
from registration.person import Gender, Profile

REGISTRATION_ID = "reg-3f1c9a0e5b7d4c2a8e6f1b3d5a7c9e0f-1"
AT = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)

PROFILE = Profile(
    surname="Иванова",
    name="Мария",
    patronymic="Петровна",
    gender=Gender.FEMALE,
    birth_date=date(1990, 5, 15),
    birth_place="г. Москва",
    citizenship="RUS",
    passport_series="4512",
    passport_number="345678",
    passport_issue_date=date(2010, 6, 1),
    passport_issuer="ОВД Тверской район г. Москвы",
    division_code="770-001",
    snils="112-233-445 95",
)
ADDRESS = PostalAddress(
    postcode="101000", region="Москва", city="Москва", street="ул. Мясницкая", house="1"
)
LETTER = LetterView(
    tracking_number="80082345678901",
    ordered_at=AT,
    code_expires_at=AT + timedelta(days=30),
    status="accepted",
    orders_in_window=1,
    next_order_allowed_at=AT + timedelta(days=1),
)

JUST_STARTED = RegistrationView(
    registration_id=REGISTRATION_ID,
    stage=Stage.CONTACT,
    level=Level.NONE,
    stage_entered_at=AT,
    channel=Channel.SMS,
    expires_at=AT + timedelta(hours=24),
    code_expires_at=AT + timedelta(minutes=5),
    code_attempts_left=3,
    next_code_allowed_at=AT + timedelta(minutes=1),
    resends_left_today=4,
    summary="Waiting for the SMS code",
)
AT_IDENTITY = RegistrationView(
    registration_id=REGISTRATION_ID,
    stage=Stage.IDENTITY,
    level=Level.STANDARD,
    stage_entered_at=AT + timedelta(minutes=3),
    channel=Channel.SMS,
    pending_checks=[],
    method=ConfirmationMethod.LETTER,
    letter=LETTER,
    inn_found=True,
    summary="Waiting for the letter's code",
)
IN_VERIFICATION = RegistrationView(
    registration_id=REGISTRATION_ID,
    stage=Stage.VERIFICATION,
    level=Level.SIMPLIFIED,
    stage_entered_at=AT + timedelta(minutes=2),
    channel=Channel.SMS,
    pending_checks=[Agency.PENSION_FUND, Agency.MVD],
    verification_deadline=AT + timedelta(days=5),
    summary="Waiting for the Pension Fund and MVD",
)

CODE_ACCEPTED = CodeVerdict(accepted=True, attempts_left=3, stage=Stage.PASSWORD)
CODE_WRONG = CodeVerdict(accepted=False, attempts_left=2, stage=Stage.CONTACT)
LETTER_CODE_ACCEPTED = CodeVerdict(accepted=True, attempts_left=5, stage=Stage.CONFIRMED)
CODE_SENT = CodeSentView(
    channel=Channel.SMS,
    code_expires_at=AT + timedelta(minutes=6),
    next_code_allowed_at=AT + timedelta(minutes=2),
    resends_left_today=3,
)
PASSWORD_SET = StepDone(stage=Stage.PROFILE, level=Level.SIMPLIFIED)
PROFILE_TAKEN = StepDone(stage=Stage.VERIFICATION, level=Level.SIMPLIFIED)
CANCELLED = StepDone(stage=Stage.CANCELLED, level=Level.SIMPLIFIED)
CHECKS_RETRIED = StepDone(stage=Stage.VERIFICATION, level=Level.SIMPLIFIED)
LETTER_CHOSEN = MethodChosen(method=ConfirmationMethod.LETTER, letter=LETTER)
CONFIRMED = ConfirmationVerdict(confirmed=True, stage=Stage.CONFIRMED)
DOCUMENTS_DIFFER = ConfirmationVerdict(
    confirmed=False,
    reason="Documents do not match: passport_number",
    stage=Stage.IDENTITY,
    mismatched=["passport_number"],
)
EXTENDED = DeadlineExtended(deadline=Deadline.LETTER_CODE, until=AT + timedelta(days=37))


def dumped(value: BaseModel) -> dict[str, Any]:
    """A model as its JSON answer."""
    return value.model_dump(mode="json")


JSON = BaseModel | dict[str, Any] | list[dict[str, Any]]
"""An example: a model, or its JSON form."""


def answers(status: int = 200, **examples: JSON) -> dict[int | str, Any]:
    """A route's `responses` entry: named examples of its successful answer."""
    return {
        status: {
            "content": {
                "application/json": {
                    "examples": {
                        name: {"value": dumped(value) if isinstance(value, BaseModel) else value}
                        for name, value in examples.items()
                    }
                }
            }
        }
    }


def bodies(**examples: tuple[str, JSON]) -> dict[str, Any]:
    """A request body's `openapi_examples`: name → (summary, value)."""
    return {
        name: {
            "summary": summary,
            "value": dumped(value) if isinstance(value, BaseModel) else value,
        }
        for name, (summary, value) in examples.items()
    }
