"""The portal backend, acting for a citizen. Every step answers with the workflow's verdict."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from api.auth import Principal
from api.bodies import Reason
from api.deps import IdempotencyKey, PortalCaller, RegistrationId, RegistrationsDep, ServicesDep
from api.errors import STEP_RESPONSES, ApiError
from registration.models import (
    ChooseMethod,
    CodeSentView,
    CodeVerdict,
    MethodChosen,
    Profile,
    RegistrationView,
    StepDone,
)
from store import access

router = APIRouter(prefix="/v1/registrations", tags=["portal"], responses=STEP_RESPONSES)


class StartRegistration(BaseModel):
    surname: str = Field(max_length=200)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40, examples=["+79123456789"])
    email: str | None = Field(default=None, max_length=320)


class Started(BaseModel):
    registration_id: str
    state: RegistrationView


class CodeEntry(BaseModel):
    code: str = Field(max_length=64, description="As the citizen typed it")


class PasswordEntry(BaseModel):
    password: str = Field(max_length=256)
    password_repeated: str = Field(max_length=256)


@router.post(
    "",
    response_model=Started,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Started, "description": "This contact's running registration"}},
)
async def start_registration(
    body: StartRegistration,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    response: Response,
) -> Started:
    """Start a registration; starting again for a contact whose registration runs returns it."""
    started = await registrations.start(body.surname, body.name, phone=body.phone, email=body.email)
    if not started.created:
        response.status_code = status.HTTP_200_OK
    return Started(registration_id=started.registration_id, state=started.state)


@router.get("/{registration_id}", response_model=RegistrationView)
async def registration_state(
    registration_id: RegistrationId, registrations: RegistrationsDep, caller: PortalCaller
) -> RegistrationView:
    return await registrations.state(registration_id)


async def limit_code_entry(services: ServicesDep, caller: Principal, registration_id: str) -> None:
    """Brute-force protection independent of the workflow's counters: per registration and
    per client, counted in PostgreSQL so every API instance sees the same numbers."""
    settings = services.settings
    for key, limit, window in (
        (
            f"code:registration:{registration_id}",
            settings.code_entries_per_registration,
            settings.code_entries_per_registration_window_seconds,
        ),
        (
            f"code:client:{caller.client_id}",
            settings.code_entries_per_client,
            settings.code_entries_per_client_window_seconds,
        ),
    ):
        decision = await access.hit_rate_limit(
            services.engine, key, limit, timedelta(seconds=window)
        )
        if not decision.allowed:
            raise ApiError(
                429,
                "rate_limited",
                "Too many codes entered: wait and try again",
                retry_after=decision.retry_after_seconds,
            )


@router.post("/{registration_id}/contact-code", response_model=CodeVerdict)
async def submit_contact_code(
    registration_id: RegistrationId,
    body: CodeEntry,
    registrations: RegistrationsDep,
    services: ServicesDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> CodeVerdict:
    """The SMS code or e-mail link token: accepted, or wrong with the attempts left."""
    await limit_code_entry(services, caller, registration_id)
    return await registrations.submit_contact_code(
        registration_id, body.code, step_id=idempotency_key
    )


@router.post("/{registration_id}/contact-code/resend", response_model=CodeSentView)
async def request_new_code(
    registration_id: RegistrationId,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> CodeSentView:
    return await registrations.request_new_code(registration_id, step_id=idempotency_key)


@router.put("/{registration_id}/password", response_model=StepDone)
async def set_password(
    registration_id: RegistrationId,
    body: PasswordEntry,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """The password is hashed here; Temporal only learns that it was set."""
    return await registrations.set_password(
        registration_id, body.password, body.password_repeated, step_id=idempotency_key
    )


@router.put("/{registration_id}/profile", response_model=StepDone)
async def submit_profile(
    registration_id: RegistrationId,
    body: Profile,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """Submit or correct the profile; the automatic checks start at once."""
    return await registrations.submit_profile(registration_id, body, step_id=idempotency_key)


@router.put("/{registration_id}/confirmation-method", response_model=MethodChosen)
async def choose_method(
    registration_id: RegistrationId,
    body: ChooseMethod,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> MethodChosen:
    """Choose how to confirm the identity; a letter is ordered at once."""
    return await registrations.choose_method(
        registration_id, body.method, body.address, step_id=idempotency_key
    )


@router.post("/{registration_id}/letter-code", response_model=CodeVerdict)
async def submit_letter_code(
    registration_id: RegistrationId,
    body: CodeEntry,
    registrations: RegistrationsDep,
    services: ServicesDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> CodeVerdict:
    await limit_code_entry(services, caller, registration_id)
    return await registrations.submit_letter_code(
        registration_id, body.code, step_id=idempotency_key
    )


@router.post("/{registration_id}/cancel", response_model=StepDone)
async def cancel(
    registration_id: RegistrationId,
    body: Reason,
    registrations: RegistrationsDep,
    caller: PortalCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """The citizen cancels their registration."""
    return await registrations.cancel(
        registration_id, "citizen", body.reason, step_id=idempotency_key
    )
