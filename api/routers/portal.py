"""The portal backend, acting for a citizen. Every step answers with the workflow's verdict.

A start answers with a session; every later step presents it (`X-Registration-Session`), and
the steps after the contact code only from the session that entered it (api.deps,
docs/security.md). The portal forwards the citizen's network address (`X-Citizen-IP`), which
the limits count by (service.limits).
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.bodies import Reason
from api.deps import (
    CitizenCaller,
    CitizenSession,
    IdempotencyKey,
    OwnerSession,
    RegistrationId,
    RegistrationsDep,
    portal_role,
)
from api.errors import STEP_RESPONSES
from registration.models import (
    CodeSentView,
    CodeVerdict,
    ConfirmationMethod,
    MethodChosen,
    PostalAddress,
    Profile,
    RegistrationView,
    StepDone,
)

router = APIRouter(
    prefix="/v1/registrations",
    tags=["portal"],
    responses=STEP_RESPONSES,
    dependencies=[portal_role],
)


class StartRegistration(BaseModel):
    surname: str = Field(max_length=200)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40, examples=["+79123456789"])
    email: str | None = Field(default=None, max_length=320)


class Started(BaseModel):
    registration_id: str
    session: str = Field(
        description="The citizen's session, shown once: send it as `X-Registration-Session` "
        "with every later step of this registration. Keep it in the citizen's portal session."
    )
    state: RegistrationView


class CodeEntry(BaseModel):
    code: str = Field(max_length=64, description="As the citizen typed it")


class PasswordEntry(BaseModel):
    password: str = Field(max_length=256)
    password_repeated: str = Field(max_length=256)


class MethodChoice(BaseModel):
    method: ConfirmationMethod
    address: PostalAddress | None = None


@router.post("", response_model=Started, status_code=status.HTTP_201_CREATED)
async def start_registration(
    body: StartRegistration, registrations: RegistrationsDep, caller: CitizenCaller
) -> Started:
    """Start a registration with a new session; a code is sent to the contact. When the
    contact's registration is running already, the answer looks the same: the new session
    joins it, a fresh code is sent (within the limits), and the session sees nothing of its
    progress until the code is entered through it, which revokes every other session."""
    started = await registrations.start(
        body.surname, body.name, phone=body.phone, email=body.email, caller=caller
    )
    return Started(
        registration_id=started.registration_id, session=started.session, state=started.state
    )


@router.get("/{registration_id}", response_model=RegistrationView)
async def registration_state(
    registration_id: RegistrationId, registrations: RegistrationsDep, session: CitizenSession
) -> RegistrationView:
    """The registration as this session may see it."""
    return await registrations.state(registration_id, session_id=session.id)


@router.post("/{registration_id}/contact-code", response_model=CodeVerdict)
async def submit_contact_code(
    registration_id: RegistrationId,
    body: CodeEntry,
    registrations: RegistrationsDep,
    caller: CitizenCaller,
    session: CitizenSession,
    idempotency_key: IdempotencyKey = None,
) -> CodeVerdict:
    """The SMS code or e-mail link token: accepted, or wrong with the attempts left. The
    session that enters the right code owns the registration from then on."""
    return await registrations.submit_contact_code(
        registration_id, body.code, step_id=idempotency_key, session_id=session.id, caller=caller
    )


class EmailLink(BaseModel):
    token: str = Field(max_length=64, description="The `token` of the link in the e-mail")


class EmailLinkAnswer(BaseModel):
    verdict: CodeVerdict
    session: str | None = Field(
        description="When the token was right: the session that now owns the registration "
        "(every other session is revoked), shown once. Send it as `X-Registration-Session`."
    )


@router.post("/{registration_id}/email-link", response_model=EmailLinkAnswer)
async def confirm_email_link(
    registration_id: RegistrationId,
    body: EmailLink,
    registrations: RegistrationsDep,
    caller: CitizenCaller,
) -> EmailLinkAnswer:
    """The e-mail confirmation link, opened in any browser: no session is needed, since the
    link proves the mailbox; a right token answers with a new session that owns the
    registration. (In the browser that started, `contact-code` with its session works too.)"""
    confirmed = await registrations.confirm_email_link(registration_id, body.token, caller=caller)
    return EmailLinkAnswer(verdict=confirmed.verdict, session=confirmed.session)


@router.post("/{registration_id}/contact-code/resend", response_model=CodeSentView)
async def request_new_code(
    registration_id: RegistrationId,
    registrations: RegistrationsDep,
    session: CitizenSession,
    idempotency_key: IdempotencyKey = None,
) -> CodeSentView:
    return await registrations.request_new_code(
        registration_id, step_id=idempotency_key, session_id=session.id
    )


@router.put("/{registration_id}/password", response_model=StepDone)
async def set_password(
    registration_id: RegistrationId,
    body: PasswordEntry,
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """The password is hashed here; Temporal only learns that it was set."""
    return await registrations.set_password(
        registration_id,
        body.password,
        body.password_repeated,
        step_id=idempotency_key,
        session_id=session.id,
    )


@router.put("/{registration_id}/profile", response_model=StepDone)
async def submit_profile(
    registration_id: RegistrationId,
    body: Profile,
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """Submit or correct the profile; the automatic checks start at once."""
    return await registrations.submit_profile(
        registration_id, body, step_id=idempotency_key, session_id=session.id
    )


@router.put("/{registration_id}/confirmation-method", response_model=MethodChosen)
async def choose_method(
    registration_id: RegistrationId,
    body: MethodChoice,
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> MethodChosen:
    """Choose how to confirm the identity; a letter is ordered at once."""
    return await registrations.choose_method(
        registration_id, body.method, body.address, step_id=idempotency_key, session_id=session.id
    )


@router.post("/{registration_id}/letter-code", response_model=CodeVerdict)
async def submit_letter_code(
    registration_id: RegistrationId,
    body: CodeEntry,
    registrations: RegistrationsDep,
    caller: CitizenCaller,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> CodeVerdict:
    return await registrations.submit_letter_code(
        registration_id, body.code, step_id=idempotency_key, session_id=session.id, caller=caller
    )


@router.post("/{registration_id}/cancel", response_model=StepDone)
async def cancel(
    registration_id: RegistrationId,
    body: Reason,
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """The citizen cancels their registration (once the contact is confirmed: before, it
    simply expires)."""
    return await registrations.cancel(
        registration_id, "citizen", body.reason, step_id=idempotency_key, session_id=session.id
    )
