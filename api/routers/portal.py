"""The portal backend, acting for a citizen. Every step answers with the workflow's verdict.

A start answers with a session; every later step presents it (`X-Registration-Session`), and
the steps after the contact code only from the session that entered it (api.deps,
docs/security.md). The portal forwards the citizen's network address (`X-Citizen-IP`), which
the limits count by (service.limits).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from api import examples
from api.bodies import REASON_EXAMPLES, Reason
from api.deps import (
    CitizenCaller,
    CitizenSession,
    IdempotencyKey,
    OwnerSession,
    RegistrationId,
    RegistrationsDep,
    portal_role,
)
from api.errors import GUARDED, problems
from registration.address import PostalAddress
from registration.journey import ConfirmationMethod
from registration.messages import (
    CodeSentView,
    CodeVerdict,
    MethodChosen,
    RegistrationView,
    StepDone,
)
from registration.person import NAME_MAX, Profile

router = APIRouter(prefix="/v1/registrations", tags=["portal"], dependencies=[portal_role])

# What every step of a citizen's registration may answer besides its own: an unknown
# registration or session (404), a step that does not fit the stage or a finished
# registration (409).
STEP = (*GUARDED, 404, 409)


def _name_limit(label: str) -> Any:
    """A name's length is checked by the domain's rule, as in the profile: one limit and one
    message (`person_name.too_long`) wherever a name is entered. The schema only states it."""
    return Field(
        json_schema_extra={"maxLength": NAME_MAX},
        description=f"{label}, at most {NAME_MAX} characters (as in the profile)",
    )


class StartRegistration(BaseModel):
    surname: str = _name_limit("Surname")
    name: str = _name_limit("First name")
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


class LinkPasswordEntry(PasswordEntry):
    token: str = Field(max_length=64, description="The token of the link the citizen opened")


class MethodChoice(BaseModel):
    method: ConfirmationMethod
    address: PostalAddress | None = None


@router.post(
    "",
    response_model=Started,
    status_code=status.HTTP_201_CREATED,
    operation_id="startRegistration",
    responses={
        **examples.answers(
            201,
            started={
                "registration_id": examples.REGISTRATION_ID,
                "session": "grs_" + "Q" * 43,
                "state": examples.dumped(examples.JUST_STARTED),
            },
        ),
        **problems(*GUARDED, 409, 429),
    },
)
async def start_registration(
    body: Annotated[
        StartRegistration,
        Body(
            openapi_examples=examples.bodies(
                phone=(
                    "By phone: the code goes by SMS",
                    {"surname": "Иванова", "name": "Мария", "phone": "+79161234567"},
                ),
                email=(
                    "By e-mail: a code and a link go to the mailbox",
                    {"surname": "Иванова", "name": "Мария", "email": "maria@example.org"},
                ),
            )
        ),
    ],
    registrations: RegistrationsDep,
    caller: CitizenCaller,
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


@router.get(
    "/{registration_id}",
    response_model=RegistrationView,
    operation_id="getRegistration",
    responses={
        **examples.answers(verification=examples.IN_VERIFICATION, identity=examples.AT_IDENTITY),
        **problems(*STEP),
    },
)
async def registration_state(
    registration_id: RegistrationId, registrations: RegistrationsDep, session: CitizenSession
) -> RegistrationView:
    """The registration as this session may see it."""
    return await registrations.state(registration_id, session_id=session.id)


CODE_ENTRY = Body(
    openapi_examples=examples.bodies(code=("The code as the citizen typed it", {"code": "123456"}))
)


@router.post(
    "/{registration_id}/contact-code",
    response_model=CodeVerdict,
    operation_id="submitContactCode",
    responses={
        **examples.answers(accepted=examples.CODE_ACCEPTED, wrong=examples.CODE_WRONG),
        **problems(*STEP, 429),
    },
)
async def submit_contact_code(
    registration_id: RegistrationId,
    body: Annotated[CodeEntry, CODE_ENTRY],
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


@router.post(
    "/{registration_id}/email-link",
    response_model=EmailLinkAnswer,
    operation_id="confirmEmailLink",
    responses={
        **examples.answers(
            accepted={
                "verdict": examples.dumped(examples.CODE_ACCEPTED),
                "session": "grs_" + "Z" * 43,
            },
            wrong={"verdict": examples.dumped(examples.CODE_WRONG), "session": None},
        ),
        **problems(*STEP, 429),
    },
)
async def confirm_email_link(
    registration_id: RegistrationId,
    body: Annotated[
        EmailLink,
        Body(
            openapi_examples=examples.bodies(
                link=("The token of the link", {"token": "K7MWQ2XR9TBD4HZNP3VJ8YC6EA"})
            )
        ),
    ],
    registrations: RegistrationsDep,
    caller: CitizenCaller,
) -> EmailLinkAnswer:
    """The e-mail confirmation link, opened in any browser: no session is needed, since the
    link proves the mailbox; a right token answers with a new session that owns the
    registration. (In the browser that started, `contact-code` with its session works too.)"""
    confirmed = await registrations.confirm_email_link(registration_id, body.token, caller=caller)
    return EmailLinkAnswer(verdict=confirmed.verdict, session=confirmed.session)


@router.post(
    "/{registration_id}/contact-code/resend",
    response_model=CodeSentView,
    operation_id="resendContactCode",
    responses={**examples.answers(sent=examples.CODE_SENT), **problems(*STEP, 429)},
)
async def request_new_code(
    registration_id: RegistrationId,
    registrations: RegistrationsDep,
    session: CitizenSession,
    idempotency_key: IdempotencyKey = None,
) -> CodeSentView:
    return await registrations.request_new_code(
        registration_id, step_id=idempotency_key, session_id=session.id
    )


@router.put(
    "/{registration_id}/password",
    response_model=StepDone,
    operation_id="setPassword",
    responses={**examples.answers(set=examples.PASSWORD_SET), **problems(*STEP)},
)
async def set_password(
    registration_id: RegistrationId,
    body: Annotated[
        PasswordEntry,
        Body(
            openapi_examples=examples.bodies(
                password=(
                    "The password, typed twice",
                    {"password": "Zvezda#Polar7", "password_repeated": "Zvezda#Polar7"},
                )
            )
        ),
    ],
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


@router.post(
    "/{registration_id}/password-link",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="setPasswordByLink",
    responses=problems(*GUARDED, 410),
)
async def set_password_by_link(
    registration_id: RegistrationId,
    body: Annotated[
        LinkPasswordEntry,
        Body(
            openapi_examples=examples.bodies(
                link=(
                    "The token from the link, and the password typed twice",
                    {
                        "token": "7K3M9QX2VBN8T4HJ6WRC1PZ5DA",
                        "password": "Zvezda#Polar7",
                        "password_repeated": "Zvezda#Polar7",
                    },
                )
            )
        ),
    ],
    registrations: RegistrationsDep,
) -> None:
    """A registration made at a service center: the citizen sets their password through the
    one-time link sent to their contact when the account was confirmed (no session: the link
    is the proof). The first use of a valid link sets it; the link then stops working."""
    await registrations.set_password_by_link(
        registration_id, body.token, body.password, body.password_repeated
    )


@router.put(
    "/{registration_id}/profile",
    response_model=StepDone,
    operation_id="submitProfile",
    responses={**examples.answers(checking=examples.PROFILE_TAKEN), **problems(*STEP)},
)
async def submit_profile(
    registration_id: RegistrationId,
    body: Annotated[
        Profile,
        Body(
            openapi_examples=examples.bodies(
                profile=("The profile as the passport shows it", examples.PROFILE)
            )
        ),
    ],
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """Submit or correct the profile; the automatic checks start at once."""
    return await registrations.submit_profile(
        registration_id, body, step_id=idempotency_key, session_id=session.id
    )


@router.put(
    "/{registration_id}/confirmation-method",
    response_model=MethodChosen,
    operation_id="chooseConfirmationMethod",
    responses={
        **examples.answers(
            letter=examples.LETTER_CHOSEN,
            in_person={"method": ConfirmationMethod.IN_PERSON.value, "letter": None},
        ),
        **problems(*STEP, 429),
    },
)
async def choose_method(
    registration_id: RegistrationId,
    body: Annotated[
        MethodChoice,
        Body(
            openapi_examples=examples.bodies(
                letter=(
                    "A registered letter with a code",
                    {"method": "letter", "address": examples.dumped(examples.ADDRESS)},
                ),
                in_person=("In person at a service center", {"method": "in_person"}),
            )
        ),
    ],
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> MethodChosen:
    """Choose how to confirm the identity; a letter is ordered at once."""
    return await registrations.choose_method(
        registration_id, body.method, body.address, step_id=idempotency_key, session_id=session.id
    )


@router.post(
    "/{registration_id}/letter-code",
    response_model=CodeVerdict,
    operation_id="submitLetterCode",
    responses={
        **examples.answers(accepted=examples.LETTER_CODE_ACCEPTED),
        **problems(*STEP, 429),
    },
)
async def submit_letter_code(
    registration_id: RegistrationId,
    body: Annotated[
        CodeEntry,
        Body(
            openapi_examples=examples.bodies(
                code=("The code printed in the letter", {"code": "7K2M9-QX4TB"})
            )
        ),
    ],
    registrations: RegistrationsDep,
    caller: CitizenCaller,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> CodeVerdict:
    return await registrations.submit_letter_code(
        registration_id, body.code, step_id=idempotency_key, session_id=session.id, caller=caller
    )


@router.post(
    "/{registration_id}/cancel",
    response_model=StepDone,
    operation_id="cancelRegistration",
    responses={**examples.answers(cancelled=examples.CANCELLED), **problems(*STEP)},
)
async def cancel(
    registration_id: RegistrationId,
    body: Annotated[Reason, REASON_EXAMPLES],
    registrations: RegistrationsDep,
    session: OwnerSession,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    """The citizen cancels their registration (once the contact is confirmed: before, it
    simply expires)."""
    return await registrations.cancel(
        registration_id, "citizen", body.reason, step_id=idempotency_key, session_id=session.id
    )
