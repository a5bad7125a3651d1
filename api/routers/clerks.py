"""Service-center clerks: find who is waiting to be confirmed in person, and confirm them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from api import examples
from api.deps import CurrentClerk, IdempotencyKey, RegistrationId, RegistrationsDep, clerk_role
from api.errors import GUARDED, ApiError, problems
from registration.contact import normalize_phone
from registration.documents import normalize_snils
from registration.errors import InvalidInput
from registration.messages import ClerkConfirmation, ConfirmationVerdict

router = APIRouter(prefix="/v1/clerk", tags=["clerks"], dependencies=[clerk_role])


class Awaiting(BaseModel):
    registration_ids: list[str]


class PersonLookup(BaseModel):
    """Who the clerk is looking for: the SNILS or the phone the person gives. In the body, not
    the URL: URLs end up in access logs, and these are personal data."""

    snils: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)


class DocumentsSeen(BaseModel):
    """What the clerk read from the documents the person showed."""

    passport_series: str = Field(max_length=20)
    passport_number: str = Field(max_length=20)
    snils: str = Field(max_length=20)


@router.post(
    "/registrations/search",
    response_model=Awaiting,
    operation_id="findAwaitingRegistrations",
    responses={
        **examples.answers(found={"registration_ids": [examples.REGISTRATION_ID]}),
        **problems(*GUARDED),
    },
)
async def find_awaiting(
    body: Annotated[
        PersonLookup,
        Body(
            openapi_examples=examples.bodies(
                snils=("By SNILS", {"snils": "112-233-445 95"}),
                phone=("By phone", {"phone": "+79161234567"}),
            )
        ),
    ],
    registrations: RegistrationsDep,
) -> Awaiting:
    """Registrations awaiting identity confirmation for the person with this SNILS or phone."""
    snils, phone = body.snils, body.phone
    if snils is None and phone is None:
        raise ApiError(422, "invalid_input", "Give the person's SNILS or phone", field="snils")
    try:
        found = await registrations.awaiting_in_person(
            snils=normalize_snils(snils) if snils is not None else None,
            phone=normalize_phone(phone) if phone is not None else None,
        )
    except InvalidInput as error:
        raise ApiError(422, "invalid_input", error.message, field=error.errors[0].field) from error
    return Awaiting(registration_ids=found)


@router.post(
    "/registrations/{registration_id}/in-person-confirmation",
    response_model=ConfirmationVerdict,
    operation_id="confirmInPerson",
    responses={
        **examples.answers(confirmed=examples.CONFIRMED, differ=examples.DOCUMENTS_DIFFER),
        **problems(*GUARDED, 404, 409, 429),
    },
)
async def confirm_in_person(
    registration_id: RegistrationId,
    body: Annotated[
        DocumentsSeen,
        Body(
            openapi_examples=examples.bodies(
                documents=(
                    "As read from the passport and the SNILS card",
                    {
                        "passport_series": "4512",
                        "passport_number": "345678",
                        "snils": "11223344595",
                    },
                )
            )
        ),
    ],
    registrations: RegistrationsDep,
    clerk: CurrentClerk,
    idempotency_key: IdempotencyKey = None,
) -> ConfirmationVerdict:
    """Confirm the identity in person. The clerk and their service center come from the token,
    never from the body: a clerk can only confirm in their own center's name. A refusal names
    the documents that differ; after too many refusals confirmation is locked (429)."""
    if clerk.service_center_id is None:
        # Every clerk token is made with its center (`gosreg tokens create --service-center`);
        # one without could confirm in nobody's name.
        raise ApiError(
            403,
            "forbidden",
            "This clerk token is bound to no service center: ask for a new one",
        )
    seen = ClerkConfirmation(
        clerk_id=clerk.client_id,
        service_center_id=clerk.service_center_id,
        passport_series=body.passport_series,
        passport_number=body.passport_number,
        snils=body.snils,
    )
    return await registrations.clerk_confirmation(registration_id, seen, step_id=idempotency_key)
