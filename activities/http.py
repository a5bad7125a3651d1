"""Talking HTTP to outside parties: one deadline per call, one translation of failures.

Every party client goes through `HttpClient`, so every activity fails the same way:

- the party could not be reached, did not answer within the deadline, or answered 5xx, 408 or
  429 → `ApplicationError(type=TRANSIENT_FAULT)`, retryable;
- the party refused the request (any other 4xx) → a non-retryable `ApplicationError` whose
  type is the party's `rejected_type` (AGENCY_REQUEST_REJECTED or DELIVERY_REJECTED).

Error messages name the party, method, path and status, never a request or response body:
they end up in workflow histories, which must hold no personal data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError, model_validator
from temporalio.exceptions import ApplicationError

from registration.errors import AGENCY_REQUEST_REJECTED, TRANSIENT_FAULT
from registration.person import Profile

M = TypeVar("M", bound=BaseModel)

RETRYABLE_STATUSES = frozenset({408, 429})


class HttpClient:
    """One connection pool for all parties; each call must finish within `timeout_seconds`
    (connecting, sending and reading together), else it is a TRANSIENT_FAULT."""

    def __init__(
        self,
        timeout_seconds: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        instrument: Callable[[httpx.AsyncClient], None] | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)
        if instrument is not None:  # tracing, from the process that runs the activities
            instrument(self._client)

    async def request(
        self,
        method: Literal["GET", "POST"],
        url: str,
        *,
        party: str,
        rejected_type: str,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        answers: Collection[int] = (),
    ) -> httpx.Response:
        """The party's response if it is a success or one of `answers` (statuses the caller
        reads as an answer, e.g. 404 on a status read); otherwise raises ApplicationError."""
        what = f"{party}: {method} {httpx.URL(url).path}"
        try:
            # httpx's timeout bounds each phase; the overall deadline bounds the whole call.
            async with asyncio.timeout(self._timeout):
                response = await self._client.request(
                    method, url, json=json, content=content, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            raise transient(f"{what} did not answer within {self._timeout:g} s") from None
        except httpx.TransportError as error:
            raise transient(f"{what} unreachable ({type(error).__name__})") from None
        if response.is_success or response.status_code in answers:
            return response
        if response.is_server_error or response.status_code in RETRYABLE_STATUSES:
            raise transient(f"{what} failed with HTTP {response.status_code}")
        raise ApplicationError(
            f"{what} refused the request with HTTP {response.status_code}{_reason(response)}",
            response.status_code,
            type=rejected_type,
            non_retryable=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def transient(message: str) -> ApplicationError:
    return ApplicationError(message, type=TRANSIENT_FAULT)


def _reason(response: httpx.Response) -> str:
    """The machine-readable part of a refusal: an error code, or the names of the rejected
    fields — never the values, which may be personal data."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, dict) and isinstance(detail.get("code"), str):
        return f" ({detail['code']})"
    if isinstance(detail, list):
        fields = [".".join(map(str, e.get("loc", ()))) for e in detail if isinstance(e, dict)]
        return f" (invalid: {', '.join(fields)})" if fields else ""
    return ""


class PartyClient:
    """Base of the per-party clients: a base URL, the shared HttpClient, and how the party's
    refusals are typed."""

    party: str = "outside party"
    """Human name used in error messages and logs."""
    rejected_type: str = AGENCY_REQUEST_REJECTED

    def __init__(self, base_url: str, http: HttpClient) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http

    async def _send(
        self,
        method: Literal["GET", "POST"],
        path: str,
        body: BaseModel | None = None,
        *,
        answers: Collection[int] = (),
    ) -> httpx.Response:
        return await self._http.request(
            method,
            f"{self._base_url}{path}",
            party=self.party,
            rejected_type=self.rejected_type,
            json=None if body is None else body.model_dump(mode="json"),
            answers=answers,
        )

    def _read(self, response: httpx.Response, shape: type[M]) -> M:
        """The response body as `shape`; a body that does not fit is the party's fault, and
        possibly a passing one, so it is retried like a 5xx."""
        try:
            return shape.model_validate_json(response.content)
        except ValidationError:
            path = response.request.url.path
            raise transient(f"{self.party}: unexpected answer to {path}") from None

    async def _post(self, path: str, body: BaseModel, shape: type[M]) -> M:
        return self._read(await self._send("POST", path, body), shape)

    async def _submit_profile(
        self, path: str, request: type[BaseModel], request_key: str, profile: Profile
    ) -> str:
        """Send the fields of `profile` that the party's `request` shape asks for; the same
        `request_key` is the same request. Returns the party's request id."""
        body = request.model_validate({**profile.model_dump(), "request_key": request_key})
        return (await self._post(path, body, RequestAccepted)).request_id

    async def _get(self, path: str, shape: type[M]) -> M:
        return self._read(await self._send("GET", path), shape)


# --- wire shapes shared by several parties -------------------------------------------------------


class MessageAccepted(BaseModel):
    message_id: str


class RequestAccepted(BaseModel):
    request_id: str


class AgencyAnswer(BaseModel):
    """A request an agency answers later: `pending` until it has."""

    status: Literal["pending", "done"]

    @property
    def pending(self) -> bool:
        return self.status == "pending"


class CheckAnswer(AgencyAnswer):
    """The Pension Fund's and the MVD's answer: does the data match their records?"""

    matched: bool | None = None
    reason_code: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _done_says_whether_matched(self) -> CheckAnswer:
        if not self.pending and self.matched is None:
            raise ValueError("a finished check must say whether the data matched")
        return self
