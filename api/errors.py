"""One error shape for every failure, and the mapping of every failure onto it.

`{"code": "...", "message": "...", "field": "..." | null, "details": {...}}` with a stable
machine-readable `code`, a human `message` and, for invalid input, the field at fault. Nothing
reaches a caller as a bare 500 or a stack trace; an outage of Temporal or PostgreSQL is a 503
with Retry-After, and says the step was not applied.
"""

from __future__ import annotations

import logging
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

from registration.errors import FieldError, Refusal, StepRefused
from service.temporal import is_connect_failure
from store.repository import RegistrationNotFound

log = logging.getLogger(__name__)

RETRY_AFTER_OUTAGE = 5


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`.")
    message: str = Field(description="What happened, in words a person can act on.")
    field: str | None = Field(default=None, description="The input field at fault, if any.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Every broken rule, for invalid input."
    )
    details: dict[str, Any] = Field(default_factory=dict)


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

# Documented on every route: the API can always answer these.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid token"},
    403: {"model": ErrorBody, "description": "The token's role may not call this"},
    413: {"model": ErrorBody, "description": "The body is over the size limit (api.limits)"},
    422: {"model": ErrorBody, "description": "Invalid input: `field` and `errors` say what"},
    431: {"model": ErrorBody, "description": "The headers are over the size limit (api.limits)"},
    503: {"model": ErrorBody, "description": "Temporal or PostgreSQL unreachable: not applied"},
}
STEP_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    404: {"model": ErrorBody, "description": "No such registration"},
    409: {"model": ErrorBody, "description": "The step does not fit the registration's stage"},
    429: {"model": ErrorBody, "description": "A limit was hit; Retry-After says when to retry"},
}


def _answer(status: int, body: ErrorBody, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(max(1, retry_after))} if retry_after is not None else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _seconds_until(moment: object) -> int | None:
    if not isinstance(moment, str):
        return None
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return max(1, int((when - datetime.now(UTC)).total_seconds()) + 1)


def refusal_response(error: StepRefused) -> JSONResponse:
    status = REFUSAL_STATUS.get(error.code, 409)
    retry_after = None
    if status == 429:
        retry_after = (
            _seconds_until(error.details.get("retry_at") or error.details.get("locked_until")) or 60
        )
    elif status == 503:
        retry_after = RETRY_AFTER_OUTAGE
    field = error.errors[0].field if error.errors else error.details.get("field")
    body = ErrorBody(
        code=str(error.code),
        message=error.message,
        field=field,
        errors=error.errors,
        details=error.details,
    )
    return _answer(status, body, retry_after)


def outage(what: str) -> JSONResponse:
    return _answer(
        503,
        ErrorBody(
            code="unavailable",
            message=f"{what} is unreachable right now; the step was not applied. Try again.",
        ),
        RETRY_AFTER_OUTAGE,
    )


def _field_of(item: dict[str, Any]) -> str:
    """The dotted field path of a schema error; `body` when the body is not JSON at all."""
    if item["type"] == "json_invalid":
        return "body"
    location = [str(part) for part in item["loc"]]
    return ".".join(location[1:]) or location[0]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an `ErrorBody`."""

    @app.exception_handler(StepRefused)
    async def on_refused(request: Request, error: StepRefused) -> JSONResponse:
        return refusal_response(error)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        body = ErrorBody(
            code=error.code, message=error.message, field=error.field, details=error.details
        )
        return _answer(error.status, body, error.retry_after)

    @app.exception_handler(RegistrationNotFound)
    async def on_not_found(request: Request, error: RegistrationNotFound) -> JSONResponse:
        return _answer(404, ErrorBody(code="not_found", message="No such registration"))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                field=_field_of(item),
                code=f"schema.{item['type']}",
                message=item["msg"],
            )
            for item in error.errors()
        ]
        first = errors[0] if errors else FieldError(field="", code="schema", message="invalid")
        body = ErrorBody(
            code="invalid_input", message=first.message, field=first.field, errors=errors
        )
        return _answer(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # FastAPI's "There was an error parsing the body" (not UTF-8, nested too deep): bad
            # input like a JSON syntax error, which is a 422 already.
            problem = FieldError(field="body", code="schema.unreadable", message=str(error.detail))
            body = ErrorBody(
                code="invalid_input", message=problem.message, field="body", errors=[problem]
            )
            return _answer(422, body)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        answer = _answer(error.status_code, ErrorBody(code=code, message=str(error.detail)))
        answer.headers.update(error.headers or {})  # a 405's Allow, for one
        return answer

    @app.exception_handler(RPCError)
    async def on_temporal(request: Request, error: RPCError) -> JSONResponse:
        if error.status is RPCStatusCode.NOT_FOUND:
            return _answer(404, ErrorBody(code="not_found", message="No such registration"))
        log.warning("Temporal call failed: %s", error.status)
        return outage("Temporal")

    @app.exception_handler(RuntimeError)
    async def on_runtime(request: Request, error: RuntimeError) -> JSONResponse:
        if is_connect_failure(error):  # a lazy client's first call, Temporal unreachable
            log.warning("Temporal unreachable")
            return outage("Temporal")
        return await on_anything(request, error)

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def on_temporal_timeout(request: Request, error: Exception) -> JSONResponse:
        return outage("Temporal")

    # Connection-level failures only: a broken query is a bug (500), not an outage.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def on_database(request: Request, error: Exception) -> JSONResponse:
        log.warning("database call failed: %s", type(error).__name__)
        return outage("The account store")

    @app.exception_handler(Exception)
    async def on_anything(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected failure on %s %s", request.method, request.url.path)
        return _answer(
            500, ErrorBody(code="internal_error", message="Unexpected failure; it was logged")
        )
