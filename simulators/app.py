"""The simulators' HTTP face: one router per outside party, plus the outbox (what was "sent")
and control (faults, timings, clock, reset) routes.

Refusals are `{"detail": {"code": ..., "message": ...}}` with a 4xx status; a malformed body
is FastAPI's usual 422. The outcomes chosen by test data are tabled in the package docstring.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registration.webhooks import InvalidSignature, secret_key, verify
from simulators import esign, rules
from simulators.config import SimulatorConfig, Timings
from simulators.schemas import (
    PARTIES,
    AgencyParty,
    AgencyRequestIn,
    CheckStatus,
    ClockAdvance,
    ClockNow,
    EmailIn,
    Fault,
    FaultMode,
    InnRequestIn,
    InnStatus,
    LetterAccepted,
    LetterIn,
    LetterTracking,
    MessageAccepted,
    MessageKind,
    MvdCheckIn,
    OutboxLetter,
    OutboxMessage,
    Party,
    PartyCounts,
    PensionFundCheckIn,
    ReceivedEvent,
    RequestAccepted,
    RequestStatus,
    SmsIn,
    Verification,
    VerificationIn,
)
from simulators.state import IdempotencyConflict, SimulatorState

S = TypeVar("S", bound=RequestStatus)


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """A fresh simulated world with its own in-memory state."""
    app = FastAPI(
        title="Outside-world simulators",
        summary="SMS and e-mail gateways, Pension Fund, MVD, FNS, Russian Post, e-signature",
        # Stand-ins for outside parties: they trace nothing of their own, even in a process
        # where ours trace (FastAPI traces natively whenever a global provider is set).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.simulators = SimulatorState(config or SimulatorConfig())
    app.add_middleware(FaultInjection, state=app.state.simulators)
    app.add_exception_handler(IdempotencyConflict, _idempotency_conflict)
    app.state.webhook_key = secret_key((config or SimulatorConfig()).portal_webhook_secret)
    for router in (sms, email, pension_fund, mvd, fns, post, esignature, portal, outbox, control):
        app.include_router(router)
    app.add_api_route("/healthz", _health, methods=["GET"], tags=["control"])
    return app


def _state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulators
    return state


StateDep = Annotated[SimulatorState, Depends(_state)]


def _refusal(
    state: SimulatorState, party: Party, status_code: int, code: str, message: str
) -> HTTPException:
    """An HTTPException to raise for a refused call, counted against the party."""
    state.count(party, "rejected")
    return HTTPException(status_code, detail={"code": code, "message": message})


async def _idempotency_conflict(request: Request, error: Exception) -> JSONResponse:
    detail = {"code": "idempotency_conflict", "message": "Key was used for different content"}
    return JSONResponse({"detail": detail}, status_code=status.HTTP_409_CONFLICT)


async def _health() -> dict[str, str]:
    return {"status": "ok"}


class FaultInjection:
    """ASGI middleware: the next calls to a party meet the fault `POST /control/faults` set."""

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        party = scope["path"].split("/", 2)[1] if scope["type"] == "http" else ""
        fault = self._state.take_fault(party) if party in PARTIES else None
        if fault is None:
            await self._app(scope, receive, send)
        elif fault.mode is FaultMode.ERROR_500:
            detail = {"code": "injected_fault", "message": "Injected internal error"}
            await JSONResponse({"detail": detail}, status_code=500)(scope, receive, send)
        elif fault.mode is FaultMode.SLOW:
            await asyncio.sleep(fault.delay_seconds)
            await self._app(scope, receive, send)
        else:

            async def send_late(message: Message) -> None:
                # The handler has done its work by the time it starts the response.
                if message["type"] == "http.response.start":
                    await asyncio.sleep(fault.delay_seconds)
                await send(message)

            await self._app(scope, receive, send_late)


# --- gateways ------------------------------------------------------------------------------------

sms = APIRouter(prefix="/sms-gateway", tags=["SMS gateway"])
email = APIRouter(prefix="/email-gateway", tags=["e-mail gateway"])


@sms.post("/messages")
async def send_sms(message: SmsIn, state: StateDep) -> MessageAccepted:
    if rules.unknown_subscriber(message.to):
        raise _refusal(state, "sms-gateway", 422, "unknown_subscriber", "Unknown subscriber")
    return MessageAccepted(message_id=state.send_message(MessageKind.SMS, message).message_id)


@email.post("/messages")
async def send_email(message: EmailIn, state: StateDep) -> MessageAccepted:
    if rules.unknown_mailbox(message.to):
        raise _refusal(state, "email-gateway", 422, "unknown_mailbox", "Mailbox unavailable")
    return MessageAccepted(message_id=state.send_message(MessageKind.EMAIL, message).message_id)


# --- agencies ------------------------------------------------------------------------------------

pension_fund = APIRouter(prefix="/pension-fund", tags=["Pension Fund"])
mvd = APIRouter(prefix="/mvd", tags=["MVD"])
fns = APIRouter(prefix="/fns", tags=["FNS"])


def _status(state: SimulatorState, party: AgencyParty, request_id: str, shape: type[S]) -> S:
    known, answer = state.answer(party, request_id)
    if not known:
        raise HTTPException(404, detail={"code": "not_found", "message": "Unknown request"})
    if answer is None:
        return shape(request_id=request_id, status="pending")
    return shape(request_id=request_id, status="done", **answer.model_dump())


def _accepted(
    state: SimulatorState,
    party: AgencyParty,
    request: AgencyRequestIn,
    answer: BaseModel | None,
) -> RequestAccepted:
    submitted = state.submit(party, request.request_key, request, answer)
    return RequestAccepted(request_id=submitted.request_id)


@pension_fund.post("/checks", status_code=202)
async def submit_snils_check(check: PensionFundCheckIn, state: StateDep) -> RequestAccepted:
    return _accepted(state, "pension-fund", check, rules.pension_fund_answer(check))


@pension_fund.get("/checks/{request_id}", response_model_exclude_none=True)
async def snils_check(request_id: str, state: StateDep) -> CheckStatus:
    return _status(state, "pension-fund", request_id, CheckStatus)


@mvd.post("/checks", status_code=202)
async def submit_passport_check(check: MvdCheckIn, state: StateDep) -> RequestAccepted:
    return _accepted(state, "mvd", check, rules.mvd_answer(check))


@mvd.get("/checks/{request_id}", response_model_exclude_none=True)
async def passport_check(request_id: str, state: StateDep) -> CheckStatus:
    return _status(state, "mvd", request_id, CheckStatus)


@fns.post("/inn-requests", status_code=202)
async def submit_inn_request(request: InnRequestIn, state: StateDep) -> RequestAccepted:
    return _accepted(state, "fns", request, rules.fns_answer(request))


@fns.get("/inn-requests/{request_id}", response_model_exclude_none=True)
async def inn_request(request_id: str, state: StateDep) -> InnStatus:
    return _status(state, "fns", request_id, InnStatus)


# --- Russian Post --------------------------------------------------------------------------------

post = APIRouter(prefix="/post", tags=["Russian Post"])


@post.post("/letters")
async def order_letter(letter: LetterIn, state: StateDep) -> LetterAccepted:
    if rules.unknown_postcode(letter.address.postcode):
        raise _refusal(state, "post", 422, "unknown_postcode", "No post office has this postcode")
    return LetterAccepted(tracking_number=state.order_letter(letter).tracking_number)


@post.get("/letters/{tracking_number}")
async def track_letter(tracking_number: str, state: StateDep) -> LetterTracking:
    tracking = state.track_letter(tracking_number)
    if tracking is None:
        raise HTTPException(404, detail={"code": "not_found", "message": "Unknown letter"})
    return tracking


# --- e-signature ---------------------------------------------------------------------------------

esignature = APIRouter(prefix="/esignature", tags=["e-signature"])


@esignature.post("/verifications")
async def verify_signature(request: VerificationIn, state: StateDep) -> Verification:
    try:
        signed = esign.read_signed_request(request.signed_request)
    except esign.MalformedSignature:
        raise _refusal(
            state, "esignature", 400, "malformed_signature", "The signed request cannot be read"
        ) from None
    state.count("esignature", "distinct")
    return esign.verify(signed)


# --- outbox: what the world received ------------------------------------------------------------

# --- the portal's webhook receiver ----------------------------------------------------------

portal = APIRouter(prefix="/portal", tags=["portal (webhook receiver)"])


@portal.post("/events", status_code=status.HTTP_204_NO_CONTENT)
async def receive_event(request: Request, state: StateDep) -> None:
    """Take a webhook event signed with the portal's secret (Standard Webhooks), once per id;
    a forged, altered or stale one is refused with 401."""
    content = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        event_id = verify(request.app.state.webhook_key, headers, content, int(time.time()))
        body = json.loads(content)
    except (InvalidSignature, ValueError):
        raise _refusal(state, "portal", 401, "bad_signature", "Not signed by gosreg") from None
    state.receive_event(event_id, body)


outbox = APIRouter(prefix="/outbox", tags=["outbox"])


@outbox.get("/messages")
async def sent_messages(
    state: StateDep, to: str | None = None, kind: MessageKind | None = None
) -> list[OutboxMessage]:
    return state.messages(to=to, kind=kind)


@outbox.get("/letters")
async def sent_letters(
    state: StateDep, recipient: str | None = None, tracking_number: str | None = None
) -> list[OutboxLetter]:
    return state.letters(recipient=recipient, tracking_number=tracking_number)


@outbox.get("/portal-events")
async def portal_events(state: StateDep, registration_id: str | None = None) -> list[ReceivedEvent]:
    return state.events(registration_id)


@outbox.get("/counts")
async def counts(state: StateDep) -> dict[Party, PartyCounts]:
    return state.counts()


# --- control -------------------------------------------------------------------------------------

control = APIRouter(prefix="/control", tags=["control"])


@control.post("/faults", status_code=201)
async def inject_fault(fault: Fault, state: StateDep) -> list[Fault]:
    state.add_fault(fault)
    return state.faults()


@control.get("/faults")
async def active_faults(state: StateDep) -> list[Fault]:
    return state.faults()


@control.delete("/faults", status_code=204)
async def clear_faults(state: StateDep, party: Party | None = None) -> None:
    state.clear_faults(party)


@control.get("/config")
async def timings(state: StateDep) -> Timings:
    return state.timings


@control.post("/config")
async def change_timings(changes: dict[str, float], state: StateDep) -> Timings:
    try:
        return state.change_timings(changes)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None


@control.get("/clock")
async def clock(state: StateDep) -> ClockNow:
    return ClockNow(now=state.now())


@control.post("/clock")
async def advance_clock(advance: ClockAdvance, state: StateDep) -> ClockNow:
    return ClockNow(now=state.advance_clock(advance.advance_seconds))


@control.post("/reset", status_code=204)
async def reset(state: StateDep) -> None:
    state.reset()
