"""Partners: the bank integration and the e-signature service confirm identities."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from api import examples
from api.deps import (
    BankCaller,
    IdempotencyKey,
    RegistrationId,
    RegistrationsDep,
    esignature_role,
)
from api.errors import GUARDED, problems
from registration.errors import NOT_CONFIRMED
from registration.messages import BankConfirmation, ConfirmationVerdict

# Two roles share the router, so each route checks its own: the bank's by the principal it
# needs anyway, the e-signature service's in `dependencies`.
router = APIRouter(prefix="/v1/partners", tags=["partners"])

CONFIRMATION_ERRORS = problems(*GUARDED, 404, 409, 429)


class BankIdentity(BaseModel):
    """The identity the bank verified itself (in a branch, with the passport)."""

    surname: str = Field(max_length=200)
    name: str = Field(max_length=200)
    patronymic: str | None = Field(default=None, max_length=200)
    birth_date: date
    snils: str = Field(max_length=20)
    passport_series: str = Field(max_length=20)
    passport_number: str = Field(max_length=20)


class SignedConfirmation(BaseModel):
    signed_request: str = Field(min_length=1, max_length=65_536)


@router.post(
    "/bank/registrations/{registration_id}/confirmation",
    response_model=ConfirmationVerdict,
    operation_id="confirmByBank",
    responses={
        **examples.answers(
            confirmed=examples.CONFIRMED,
            refused={
                "confirmed": False,
                "reason": NOT_CONFIRMED,
                "stage": "identity_confirmation",
                "locked_until": None,
            },
        ),
        **CONFIRMATION_ERRORS,
    },
)
async def bank_confirms(
    registration_id: RegistrationId,
    body: Annotated[
        BankIdentity,
        Body(
            openapi_examples=examples.bodies(
                identity=(
                    "The identity the bank verified",
                    {
                        "surname": "Иванова",
                        "name": "Мария",
                        "patronymic": "Петровна",
                        "birth_date": "1990-05-15",
                        "snils": "112-233-445 95",
                        "passport_series": "4512",
                        "passport_number": "345678",
                    },
                )
            )
        ),
    ],
    registrations: RegistrationsDep,
    caller: BankCaller,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmationVerdict:
    """The bank vouches for the identity. A refusal does not say what differs; after too many
    refusals confirmation is locked (429)."""
    vouched = BankConfirmation(bank_id=caller.client_id, **body.model_dump())
    return await registrations.bank_confirmation(registration_id, vouched, step_id=idempotency_key)


@router.post(
    "/esignature/registrations/{registration_id}/confirmation",
    response_model=ConfirmationVerdict,
    operation_id="confirmByESignature",
    dependencies=[esignature_role],
    responses={**examples.answers(confirmed=examples.CONFIRMED), **CONFIRMATION_ERRORS},
)
async def signature_confirms(
    registration_id: RegistrationId,
    body: Annotated[
        SignedConfirmation,
        Body(
            openapi_examples=examples.bodies(
                signed=(
                    "The registration's `signature_challenge`, signed",
                    {"signed_request": "eyJjaGFsbGVuZ2UiOiAiLi4uIn0"},
                )
            )
        ),
    ],
    registrations: RegistrationsDep,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmationVerdict:
    """A confirmation request signed with the citizen's qualified e-signature."""
    return await registrations.submit_signature(
        registration_id, body.signed_request, step_id=idempotency_key
    )
