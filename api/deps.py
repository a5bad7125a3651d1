"""What routes need, injected: the service, the store, and who is calling.

Each route's signature says what it needs (`RegistrationsDep`, `PortalCaller`, `CurrentClerk`,
…). Authentication and the role check run on every request, before the route's body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import Principal, Role
from api.errors import ApiError
from service.registrations import Registrations
from settings import Settings
from store import access


@dataclass
class Services:
    """Built once at start-up (api.app's lifespan) and shared by every request."""

    settings: Settings
    engine: AsyncEngine
    registrations: Registrations


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def registrations(found: ServicesDep) -> Registrations:
    return found.registrations


RegistrationsDep = Annotated[Registrations, Depends(registrations)]

bearer = HTTPBearer(auto_error=False, description="A token made by `gosreg tokens create`")


async def caller(
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise ApiError(401, "unauthenticated", "Send a token: Authorization: Bearer <token>")
    principal = await access.authenticate(
        found.engine, found.settings.token_pepper_bytes, credentials.credentials
    )
    if principal is None:
        raise ApiError(401, "unauthenticated", "The token is unknown or revoked")
    return principal


def role(*allowed: Role) -> object:
    """A dependency admitting only callers with one of the `allowed` roles."""

    async def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in allowed:
            raise ApiError(403, "forbidden", f"A {principal.role} token may not call this endpoint")
        return principal

    return Depends(check)


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

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description=(
            "Optional. The same key on a retried request is the same step: it is applied "
            "once and the retry gets the first answer (e.g. after a timeout or a 503)."
        ),
    ),
]

PortalCaller = Annotated[Principal, role(Role.PORTAL)]
CurrentClerk = Annotated[Principal, role(Role.CLERK)]
BankCaller = Annotated[Principal, role(Role.BANK)]
ESignatureCaller = Annotated[Principal, role(Role.ESIGNATURE)]
SupportCaller = Annotated[Principal, role(Role.SUPPORT)]
