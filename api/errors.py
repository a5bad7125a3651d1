"""One error shape for every failure, and the mapping of every failure onto it.

Every error is an RFC 9457 Problem Details object (`application/problem+json`): `type` is a
stable URI per error code (`https://gosreg.example/problems/<code>`, an identifier, not a page
to fetch), `title` the code's fixed summary, `status` the HTTP status and `detail` what
happened this time. The members clients used before stay as extensions: a stable
machine-readable `code`, the human `message` (equal to `detail`), for invalid input the
`field` at fault and every broken rule in `errors`, and `details`. Nothing reaches a caller as
a bare 500 or a stack trace; an outage of Temporal or PostgreSQL is a 503 with Retry-After, and
says the step was not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from metrics import journey
from registration.errors import FieldError, Refusal, StepRefused
from service.temporal import is_connect_failure
from store.repository import RegistrationNotFound

log = logging.getLogger(__name__)

RETRY_AFTER_OUTAGE = 5
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://gosreg.example/problems/"

# Each code's fixed title (RFC 9457: the same for every occurrence of a type).
TITLES: dict[str, str] = {
    "unauthenticated": "No valid token",
    "forbidden": "Not allowed for this role",
    "session_required": "Registration session required",
    "idempotency_key_reused": "Idempotency-Key used for another request",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "body_too_large": "Request body too large",
    "headers_too_large": "Request headers too large",
    "internal_error": "Unexpected failure",
    "http_error": "HTTP error",
    Refusal.INVALID_INPUT: "Invalid input",
    Refusal.WRONG_STAGE: "Step does not fit the registration's stage",
    Refusal.LOCKED: "Locked after too many attempts",
    Refusal.NO_ACTIVE_CODE: "No active code",
    Refusal.CODE_EXPIRED: "Code expired",
    Refusal.RESEND_TOO_SOON: "New code asked for too soon",
    Refusal.RESEND_LIMIT: "No more codes for now",
    Refusal.PASSWORD_NOT_STAGED: "Password not staged",
    Refusal.METHOD_NOT_CHOSEN: "Confirmation method not chosen",
    Refusal.LETTER_REORDER_TOO_SOON: "Letter ordered again too soon",
    Refusal.LETTER_REORDER_LIMIT: "No more letters for now",
    Refusal.ALREADY_FINISHED: "Registration already finished",
    Refusal.DELIVERY_FAILED: "Delivery failed",
    Refusal.UNAVAILABLE: "Temporarily unavailable",
    Refusal.CONTACT_NOT_PROVEN: "Contact not confirmed",
    Refusal.SESSION_REVOKED: "Session revoked",
    Refusal.RATE_LIMITED: "Too many requests",
    Refusal.AT_SERVICE_CENTER: "Registration is being made at a service center",
    Refusal.REGISTRATION_IN_PROGRESS: "A registration of this contact is in progress",
    Refusal.LINK_INVALID: "Link not valid",
}


class Problem(BaseModel):
    """Every error answer: RFC 9457 Problem Details with the API's own extension members."""

    type: str = Field(
        description="A URI naming the kind of error: `https://gosreg.example/problems/<code>`."
    )
    title: str = Field(description="A short summary of the kind of error; fixed per `type`.")
    status: int = Field(description="The HTTP status code of this answer.")
    detail: str = Field(description="What happened this time, in words a person can act on.")
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`.")
    message: str = Field(description="The same as `detail` (kept for existing clients).")
    field: str | None = Field(default=None, description="The input field at fault, if any.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Every broken rule, for invalid input."
    )
    details: dict[str, Any] = Field(
        default_factory=dict, description="More about the refusal, e.g. `retry_at`."
    )


def problem(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[FieldError] | None = None,
    details: dict[str, Any] | None = None,
) -> Problem:
    """The Problem Details of an error with this stable `code`."""
    return Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=TITLES.get(code, code.replace("_", " ").capitalize()),
        status=status,
        detail=message,
        code=code,
        message=message,
        field=field,
        errors=errors or [],
        details=details or {},
    )


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


class ApiError(Exception):
    """An error the API itself raises (auth, rate limits, lookups)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.retry_after, self.details = field, retry_after, details or {}


# How a workflow's refusal maps to HTTP: 409 a step that does not fit the stage; 429 a limit;
# 422 bad input; 503 a party that did not answer (the step was not applied; try again).
REFUSAL_STATUS: dict[Refusal, int] = {
    Refusal.INVALID_INPUT: 422,
    Refusal.WRONG_STAGE: 409,
    Refusal.AT_SERVICE_CENTER: 409,
    Refusal.REGISTRATION_IN_PROGRESS: 409,
    Refusal.LINK_INVALID: 410,
    Refusal.ALREADY_FINISHED: 409,
    Refusal.NO_ACTIVE_CODE: 409,
    Refusal.CODE_EXPIRED: 409,
    Refusal.PASSWORD_NOT_STAGED: 409,
    Refusal.METHOD_NOT_CHOSEN: 409,
    Refusal.LOCKED: 429,
    Refusal.RESEND_TOO_SOON: 429,
    Refusal.RESEND_LIMIT: 429,
    Refusal.LETTER_REORDER_TOO_SOON: 429,
    Refusal.LETTER_REORDER_LIMIT: 429,
    Refusal.DELIVERY_FAILED: 503,
    Refusal.UNAVAILABLE: 503,
    Refusal.CONTACT_NOT_PROVEN: 403,
    Refusal.SESSION_REVOKED: 403,
    Refusal.RATE_LIMITED: 429,
}


def _answer(body: Problem, retry_after: int | None = None) -> ProblemResponse:
    headers = {"Retry-After": str(max(1, retry_after))} if retry_after is not None else None
    return ProblemResponse(body.model_dump(mode="json"), status_code=body.status, headers=headers)


def _seconds_until(moment: object) -> int | None:
    if not isinstance(moment, str):
        return None
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return max(1, int((when - datetime.now(UTC)).total_seconds()) + 1)


def refusal_response(error: StepRefused) -> ProblemResponse:
    status = REFUSAL_STATUS.get(error.code, 409)
    retry_after = None
    if status == 429:
        retry_after = (
            _seconds_until(error.details.get("retry_at") or error.details.get("locked_until")) or 60
        )
    elif status == 503:
        retry_after = RETRY_AFTER_OUTAGE
    field = error.errors[0].field if error.errors else error.details.get("field")
    body = problem(
        status,
        str(error.code),
        error.message,
        field=field,
        errors=error.errors,
        details=error.details,
    )
    return _answer(body, retry_after)


def outage(what: str) -> ProblemResponse:
    message = f"{what} is unreachable right now; the step was not applied. Try again."
    return _answer(problem(503, "unavailable", message), RETRY_AFTER_OUTAGE)


def _field_of(item: dict[str, Any]) -> str:
    """The dotted field path of a schema error; `body` when the body is not JSON at all."""
    if item["type"] == "json_invalid":
        return "body"
    location = [str(part) for part in item["loc"]]
    return ".".join(location[1:]) or location[0]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a `Problem`, and the `Problem`
    schema in the OpenAPI document (`problems` refers to it)."""
    _document_problems(app)

    @app.exception_handler(StepRefused)
    async def on_refused(request: Request, error: StepRefused) -> ProblemResponse:
        journey.step_refused(error.code)
        return refusal_response(error)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> ProblemResponse:
        body = problem(
            error.status, error.code, error.message, field=error.field, details=error.details
        )
        return _answer(body, error.retry_after)

    @app.exception_handler(RegistrationNotFound)
    async def on_not_found(request: Request, error: RegistrationNotFound) -> ProblemResponse:
        return _answer(problem(404, "not_found", "No such registration"))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> ProblemResponse:
        errors = [
            FieldError(
                field=_field_of(item),
                code=f"schema.{item['type']}",
                message=item["msg"],
            )
            for item in error.errors()
        ]
        first = errors[0] if errors else FieldError(field="", code="schema", message="invalid")
        body = problem(422, "invalid_input", first.message, field=first.field, errors=errors)
        return _answer(body)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> ProblemResponse:
        if error.status_code == 400:
            # FastAPI's "There was an error parsing the body" (not UTF-8, nested too deep): bad
            # input like a JSON syntax error, which is a 422 already.
            unreadable = FieldError(
                field="body", code="schema.unreadable", message=str(error.detail)
            )
            body = problem(
                422, "invalid_input", unreadable.message, field="body", errors=[unreadable]
            )
            return _answer(body)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        answer = _answer(problem(error.status_code, code, str(error.detail)))
        answer.headers.update(error.headers or {})  # a 405's Allow, for one
        return answer

    @app.exception_handler(RPCError)
    async def on_temporal(request: Request, error: RPCError) -> ProblemResponse:
        if error.status is RPCStatusCode.NOT_FOUND:
            return _answer(problem(404, "not_found", "No such registration"))
        log.warning("Temporal call failed: %s", error.status)
        return outage("Temporal")

    @app.exception_handler(RuntimeError)
    async def on_runtime(request: Request, error: RuntimeError) -> ProblemResponse:
        if is_connect_failure(error):  # a lazy client's first call, Temporal unreachable
            log.warning("Temporal unreachable")
            return outage("Temporal")
        return await on_anything(request, error)

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def on_temporal_timeout(request: Request, error: Exception) -> ProblemResponse:
        return outage("Temporal")

    # Connection-level failures only: a broken query is a bug (500), not an outage.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def on_database(request: Request, error: Exception) -> ProblemResponse:
        log.warning("database call failed: %s", type(error).__name__)
        return outage("The account store")

    @app.exception_handler(Exception)
    async def on_anything(request: Request, error: Exception) -> ProblemResponse:
        log.exception("unexpected failure on %s %s", request.method, request.url.path)
        return _answer(problem(500, "internal_error", "Unexpected failure; it was logged"))


# --- the errors in the OpenAPI document --------------------------------------------------------

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}

# What each status means, and an example answer: (description, code, message, extras).
_STATUSES: dict[int, tuple[str, str, str, dict[str, Any]]] = {
    401: (
        "No valid token (or, on a citizen step, no session)",
        "unauthenticated",
        "The token is unknown, expired or revoked",
        {},
    ),
    403: (
        "The token's role may not call this, or the session may not take this step",
        "forbidden",
        "A clerk token may not call this endpoint",
        {},
    ),
    404: ("No such registration (or a session it does not know)", "not_found", "", {}),
    409: (
        "The step does not fit the registration's stage",
        "wrong_stage",
        "This step is not possible at the current stage",
        {},
    ),
    410: (
        "The link is not valid: used, out of date or mistyped (which one is not said)",
        "link_invalid",
        "This link is not valid: it was used already, is out of date or is mistyped",
        {},
    ),
    413: (
        "The body is over the size limit; the connection is closed",
        "body_too_large",
        "The request body is larger than the limit of 131072 bytes",
        {},
    ),
    422: (
        "Invalid input: `field` and `errors` say what",
        "invalid_input",
        "SNILS check digits do not match",
        {
            "field": "snils",
            "errors": [
                FieldError(
                    field="snils", code="snils.checksum", message="SNILS check digits do not match"
                )
            ],
        },
    ),
    429: (
        "A limit was hit; Retry-After says when to retry",
        "rate_limited",
        "Too many attempts: wait and try again",
        {"details": {"retry_at": "2026-05-15T10:31:00+00:00"}},
    ),
    431: (
        "The headers are over the size limit; the connection is closed",
        "headers_too_large",
        "The request headers are larger than the limit of 16384 bytes",
        {},
    ),
    503: (
        "Temporal or PostgreSQL unreachable: the step was not applied; Retry-After says when "
        "to retry",
        "unavailable",
        "Temporal is unreachable right now; the step was not applied. Try again.",
        {},
    ),
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (FastAPI `responses`): each a `Problem` as
    `application/problem+json` with an example, and `Retry-After` on 429 and 503."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        description, code, message, extras = _STATUSES[status]
        example = problem(status, code, message or "No such registration", **extras)
        response: dict[str, Any] = {
            "description": description,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": PROBLEM_SCHEMA_REF},
                    "example": example.model_dump(mode="json"),
                }
            },
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER_HEADER
        documented[status] = response
    return documented


LIMITS = (413, 431)
"""Every route: api.limits refuses oversized requests before they reach it."""
GUARDED = (401, 403, 422, 503, *LIMITS)
"""Every route behind a token: the token is checked in PostgreSQL (503 when unreachable)."""


def _document_problems(app: FastAPI) -> None:
    """Add `Problem` (and `FieldError`) to the document's schemas: the routes refer to it by
    `$ref` under `application/problem+json`, which FastAPI's `responses={..: {"model": ..}}`
    would put under `application/json`."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            schema = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="serialization"
            )
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas["Problem"] = schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend the document
