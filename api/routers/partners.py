"""Partners: the bank integration and the e-signature service confirm identities."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import BankCaller, IdempotencyKey, RegistrationId, RegistrationsDep, esignature_role
from api.errors import STEP_RESPONSES
from registration.models import BankConfirmation, ConfirmationVerdict

router = APIRouter(prefix="/v1/partners", tags=["partners"], responses=STEP_RESPONSES)


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
    "/bank/registrations/{registration_id}/confirmation", response_model=ConfirmationVerdict
)
async def bank_confirms(
    registration_id: RegistrationId,
    body: BankIdentity,
    registrations: RegistrationsDep,
    bank: BankCaller,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmationVerdict:
    """The bank vouches for the identity. A refusal does not say what differs; after too many
    refusals confirmation is locked (429)."""
    vouched = BankConfirmation(bank_id=bank.client_id, **body.model_dump())
    return await registrations.bank_confirmation(registration_id, vouched, step_id=idempotency_key)


@router.post(
    "/esignature/registrations/{registration_id}/confirmation",
    response_model=ConfirmationVerdict,
    dependencies=[esignature_role],  # the bank's route checks its role by the principal it uses
)
async def signature_confirms(
    registration_id: RegistrationId,
    body: SignedConfirmation,
    registrations: RegistrationsDep,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmationVerdict:
    """A confirmation request signed with the citizen's qualified e-signature."""
    return await registrations.submit_signature(
        registration_id, body.signed_request, step_id=idempotency_key
    )
