"""What routes need, injected: the service, the store, and who is calling.

Each route's signature says what it needs (`RegistrationsDep`, `PortalCaller`, `CurrentClerk`,
…). Authentication and the role check run on every request, before the route's body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import ApiError
from registration.callers import Principal, Role
from registration.errors import InvalidInput, StepRefused
from service import logs
from service.limits import Caller, citizen_network
from service.registrations import Registrations
from service.token_verdicts import TokenVerdicts
from settings import Settings
from store import idempotency
from store.idempotency import KeyUse
from store.repository import RegistrationNotFound, SessionRecord


@dataclass
class Services:
    """Built once at start-up (api.app's lifespan) and shared by every request."""

    settings: Settings
    engine: AsyncEngine
    registrations: Registrations
    tokens: TokenVerdicts


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def registrations(found: ServicesDep) -> Registrations:
    return found.registrations


RegistrationsDep = Annotated[Registrations, Depends(registrations)]

bearer = HTTPBearer(auto_error=False, description="A token made by `gosreg tokens create`")


async def caller(
    request: Request,
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise ApiError(401, "unauthenticated", "Send a token: Authorization: Bearer <token>")
    principal = await found.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthenticated", "The token is unknown, expired or revoked")
    # Every line logged for this request names the client and the registration.
    logs.bind(
        client_id=principal.client_id, registration_id=request.path_params.get("registration_id")
    )
    return principal


def role(*allowed: Role) -> params.Depends:
    """A dependency admitting only callers with one of the `allowed` roles: in a router's
    `dependencies` when its routes need no more, in a parameter (`SupportCaller`, …) when a
    route needs the principal too. Both use the same one, so it runs once per request."""

    async def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in allowed:
            raise ApiError(403, "forbidden", f"A {principal.role} token may not call this endpoint")
        return principal

    dependency: params.Depends = Depends(check)
    return dependency


RegistrationId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The id `POST /v1/registrations` answered with, e.g. `reg-…-1`.",
    ),
]
"""Checked before it reaches PostgreSQL (which refuses NUL bytes) or Temporal (ids of at most
1000 bytes): a malformed id is a 422, never a 500."""


async def idempotency_key(
    request: Request,
    found: ServicesDep,
    principal: Annotated[Principal, Depends(caller)],
    registration_id: RegistrationId,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=100,
            description=(
                "Optional. The same key on a retried request is the same step: it is applied "
                "once and the retry gets the first answer (e.g. after a timeout or a 503). A "
                "key names one request: the same key with a different body is refused with 422 "
                "`idempotency_key_reused`. A key is remembered for 30 days "
                "(`GOSREG_IDEMPOTENCY_KEY_TTL_HOURS`); do not reuse it for another request "
                "even after that. Keys are per client: another client's key is not yours."
            ),
        ),
    ] = None,
) -> AsyncIterator[str | None]:
    """The step id (`Registrations`' `step_id`) of this request, or None without a key.

    The key is remembered per client, method, route and registration together with a keyed
    hash of the body; the same key with another body is refused (422 `idempotency_key_reused`)
    instead of being answered with the first request's outcome. The step id carries the client
    id, so two clients' keys never name the same step. Runs after authentication (and, on
    routes that declare their role first, after the role check).

    A key whose first request is refused (an unknown registration, a limit, a step that does
    not fit: not applied) is forgotten again, so that no one grows the table with requests
    that did nothing; a retry with it is judged anew."""
    if not key:
        yield None
        return
    route: APIRoute = request.scope["route"]
    scope = " ".join((principal.client_id, request.method, route.path, registration_id))
    fingerprint = _body_fingerprint(found.settings.token_pepper_bytes, await request.body())
    use = await idempotency.remember(found.engine, scope, key, fingerprint)
    if use is KeyUse.OTHER_BODY:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a request with another body: "
            "send each new request with a new key",
        )
    try:
        yield f"{principal.client_id}:{key}"
    except Exception as error:
        if use is KeyUse.FIRST and not_applied(error):
            await idempotency.forget(found.engine, scope, key)
        raise


def not_applied(error: Exception) -> bool:
    """Whether a request that ended in `error` certainly changed nothing: a refusal, or a
    client error. A server error may come after the step was applied (an answer that timed
    out), so its key is kept."""
    if isinstance(error, StepRefused | RegistrationNotFound | RequestValidationError):
        return True
    if isinstance(error, ApiError):
        return error.status < 500
    return isinstance(error, HTTPException) and error.status_code < 500


def _body_fingerprint(pepper: bytes, body: bytes) -> str:
    """A keyed hash of the body, equal for equal JSON however its keys are ordered or spaced.
    Keyed, because a body may hold a code or a password that a plain hash would give away."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    return hmac.new(pepper, canonical, hashlib.sha256).hexdigest()


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

portal_role = role(Role.PORTAL)
clerk_role = role(Role.CLERK)
bank_role = role(Role.BANK)
esignature_role = role(Role.ESIGNATURE)
support_role = role(Role.SUPPORT)

PortalCaller = Annotated[Principal, portal_role]
CurrentClerk = Annotated[Principal, clerk_role]
BankCaller = Annotated[Principal, bank_role]
SupportCaller = Annotated[Principal, support_role]


# --- citizens ---------------------------------------------------------------------------------

SESSION_HEADER = "X-Registration-Session"


async def citizen_session(
    found: ServicesDep,
    portal: PortalCaller,
    registration_id: RegistrationId,
    token: Annotated[
        str | None,
        Header(
            alias=SESSION_HEADER,
            max_length=100,
            description=(
                "The `session` that `POST /v1/registrations` answered with: it binds the "
                "registration to the citizen who started it (docs/security.md)."
            ),
        ),
    ] = None,
) -> SessionRecord:
    """The citizen session the request comes from. A token this registration does not know
    is a 404, as an unknown registration is: a stranger learns nothing from it."""
    if not token:
        raise ApiError(
            401,
            "session_required",
            f"Send the registration's session: {SESSION_HEADER}: <session from the start>",
            field=SESSION_HEADER,
        )
    return await found.registrations.session(
        registration_id, token, Caller(client_id=portal.client_id)
    )


CitizenSession = Annotated[SessionRecord, Depends(citizen_session)]


async def owner_session(session: CitizenSession) -> SessionRecord:
    """A citizen session that proved the contact: only it takes the steps after that."""
    if not session.proven:
        raise ApiError(
            403,
            "contact_not_proven",
            "Confirm the contact with the code sent to it before this step",
        )
    return session


OwnerSession = Annotated[SessionRecord, Depends(owner_session)]


async def citizen_caller(request: Request, found: ServicesDep, portal: PortalCaller) -> Caller:
    """The portal, and the citizen's network address it forwarded (`citizen_ip_header`). The
    header is read from portal tokens only: nobody else speaks for citizens."""
    forwarded = request.headers.get(found.settings.citizen_ip_header)
    if forwarded is None:
        return Caller(client_id=portal.client_id)
    try:
        network = citizen_network(forwarded)
    except InvalidInput as error:
        raise ApiError(
            422, "invalid_input", error.message, field=found.settings.citizen_ip_header
        ) from error
    return Caller(client_id=portal.client_id, citizen_ip=network)


CitizenCaller = Annotated[Caller, Depends(citizen_caller)]
