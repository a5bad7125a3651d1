"""The console's pages for registering a person from scratch at the counter: the form, the
code the citizen reads out, the checks running, a mismatch to correct, and the confirmed
account (`service.counter_desk` does the work).

Forms follow post/redirect/get: a step that was taken answers with a redirect to the
registration's page, which shows where it stands now; a form typed wrong or a step refused is
answered with the page again, saying why at the fields or at the top. Each form shown carries a
fresh form id: the same form sent twice is one step.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.deps import RegistrationId
from api.errors import REFUSAL_STATUS
from console import i18n
from console.access import (
    PREFIX,
    ConsoleDep,
    ConsolePage,
    ConsoleServices,
    SessionForm,
    Signed,
    SignedDep,
    refusal_text,
)
from console.render import clock_time, field_errors, local_time, page
from registration.contact import Channel
from registration.errors import InvalidInput, Refusal, StepRefused
from registration.journey import Stage
from registration.messages import CodeVerdict
from service.clerk_desk import REGISTRATION_OUTCOMES, Outcome
from service.counter_desk import FORM_FIELDS, CounterCard, CounterForm, Mismatch

router = APIRouter(prefix=PREFIX, route_class=ConsolePage, include_in_schema=False)

NOTES = {"resumed": "counter.note.resumed", "code_sent": "counter.note.code_sent"}
"""What a redirect after a step may ask the registration's page to say (`?note=`)."""
CONTEXT = "counter"


@router.get("/counter")
async def new_form(request: Request, found: ConsoleDep, signed: SignedDep) -> Response:
    return new_page(request, found, signed)


@router.post("/counter")
async def register(
    request: Request, found: ConsoleDep, signed: SignedDep, form: SessionForm
) -> Response:
    typed = typed_form(form)
    try:
        started = await found.counter.register(signed.clerk, typed)
    except InvalidInput as invalid:
        errors = field_errors(invalid.errors)
        return new_page(request, found, signed, status=422, form=typed, errors=errors)
    except StepRefused as refused:
        status = REFUSAL_STATUS.get(refused.code, 409)
        return new_page(request, found, signed, status=status, form=typed, refused=refused)
    note = "" if started.created else "?note=resumed"
    return RedirectResponse(f"{PREFIX}/counter/{started.registration_id}{note}", 303)


def typed_form(form: dict[str, str]) -> CounterForm:
    return CounterForm(**{name: form.get(name, "") for name in FORM_FIELDS})


def new_page(
    request: Request,
    found: ConsoleServices,
    signed: Signed,
    *,
    status: int = 200,
    form: CounterForm | None = None,
    errors: dict[str, str] | None = None,
    refused: StepRefused | None = None,
) -> Response:
    """The registration form; a refused start says why above it (a person awaiting identity
    confirmation online is confirmed in person instead, and the page says where)."""
    awaiting = (
        refused is not None
        and refused.code is Refusal.REGISTRATION_IN_PROGRESS
        and refused.details.get("stage") == Stage.IDENTITY
    )
    if awaiting:
        refusal: str | None = i18n.text("counter.refusal.awaiting_identity")
    elif refused is not None:
        refusal = refusal_text(refused, found.settings.console_timezone, context=CONTEXT)
    else:
        refusal = None
    # An account may await identity confirmation: the clerk confirms it in person instead.
    may_await = awaiting or (refused is not None and refused.code is Refusal.ALREADY_FINISHED)
    return page(
        request,
        "counter_new.html",
        status,
        clerk=signed.clerk,
        csrf=signed.csrf,
        form=form or CounterForm(),
        errors=errors or {},
        refusal=refusal,
        refusal_search=may_await,
    )


@router.get("/counter/{registration_id}")
async def registration(
    request: Request,
    found: ConsoleDep,
    signed: SignedDep,
    registration_id: RegistrationId,
    note: str = "",
) -> Response:
    card = await found.counter.card(signed.clerk, registration_id)
    return await card_page(request, found, signed, card, note=NOTES.get(note))


@router.post("/counter/{registration_id}/code")
async def enter_code(
    request: Request,
    found: ConsoleDep,
    signed: SignedDep,
    form: SessionForm,
    registration_id: RegistrationId,
) -> Response:
    clerk = signed.clerk
    try:
        verdict = await found.counter.enter_code(
            clerk, registration_id, form.get("code", ""), form.get("form_id", "")
        )
    except InvalidInput as invalid:
        card = await found.counter.card(clerk, registration_id)
        errors = field_errors(invalid.errors)
        return await card_page(request, found, signed, card, status=422, errors=errors)
    except StepRefused as refused:
        return await refused_page(request, found, signed, registration_id, refused)
    if verdict.accepted:
        return RedirectResponse(f"{PREFIX}/counter/{registration_id}", 303)
    card = await found.counter.card(clerk, registration_id)
    said = [code_text(verdict, found.settings.console_timezone)]
    return await card_page(request, found, signed, card, status=422, said=said)


def code_text(verdict: CodeVerdict, zone: str) -> str:
    """A wrong code in the clerk's words: what is left of it."""
    if verdict.locked_until is not None:
        until = local_time(verdict.locked_until, zone, seconds=True)
        return i18n.text("counter.code.locked", until=until)
    if verdict.code_burnt:
        return i18n.text("counter.code.burnt")
    return i18n.text("counter.code.wrong", count=verdict.attempts_left)


@router.post("/counter/{registration_id}/new-code")
async def new_code(
    request: Request,
    found: ConsoleDep,
    signed: SignedDep,
    form: SessionForm,
    registration_id: RegistrationId,
) -> Response:
    try:
        await found.counter.new_code(signed.clerk, registration_id, form.get("form_id", ""))
    except StepRefused as refused:
        return await refused_page(request, found, signed, registration_id, refused)
    return RedirectResponse(f"{PREFIX}/counter/{registration_id}?note=code_sent", 303)


@router.post("/counter/{registration_id}/profile")
async def correct(
    request: Request,
    found: ConsoleDep,
    signed: SignedDep,
    form: SessionForm,
    registration_id: RegistrationId,
) -> Response:
    typed = typed_form(form)
    try:
        await found.counter.correct(signed.clerk, registration_id, typed, form.get("form_id", ""))
    except InvalidInput as invalid:
        card = await found.counter.card(signed.clerk, registration_id)
        errors = field_errors(invalid.errors)
        return await card_page(
            request, found, signed, card, status=422, errors=errors, correction=typed
        )
    except StepRefused as refused:
        return await refused_page(request, found, signed, registration_id, refused)
    return RedirectResponse(f"{PREFIX}/counter/{registration_id}", 303)


async def refused_page(
    request: Request,
    found: ConsoleServices,
    signed: Signed,
    registration_id: str,
    refused: StepRefused,
) -> Response:
    """The registration's page as it is now, saying why the step was not taken."""
    card = await found.counter.card(signed.clerk, registration_id)
    said = [refusal_text(refused, found.settings.console_timezone, context=CONTEXT)]
    status = REFUSAL_STATUS.get(refused.code, 409)
    return await card_page(request, found, signed, card, status=status, said=said)


async def card_page(
    request: Request,
    found: ConsoleServices,
    signed: Signed,
    card: CounterCard,
    *,
    status: int = 200,
    note: str | None = None,
    said: list[str] | None = None,
    errors: dict[str, str] | None = None,
    correction: CounterForm | None = None,
) -> Response:
    """The registration where it stands: the code, the checks, the correction form (filled
    with the profile entered, or with what was just typed), or the outcome."""
    zone = found.settings.console_timezone
    if correction is None and card.stage is Stage.PROFILE and card.view is not None:
        correction = await found.counter.correction(signed.clerk, card.registration_id)
    person = card.person
    context: dict[str, Any] = {
        "card": card,
        "outcome": REGISTRATION_OUTCOMES.get(card.stage, Outcome.AWAITING_CODE),
        "note": note,
        "said": said or [],
        "errors": errors or {},
        "form_id": secrets.token_urlsafe(16),
        "correction": correction,
        "mismatch_text": mismatch_text(card.mismatch) if card.mismatch else None,
        "sms": card.channel is Channel.SMS,
        "contact": person.contact.shown if person is not None else "",
        "link_hours": int(found.settings.policy.password_link_ttl.total_seconds() // 3600),
        "local": lambda moment: local_time(moment, zone),
        "local_clock": lambda moment: clock_time(moment, zone),
        "agencies": lambda pending: ", ".join(i18n.text(f"agency.{a.value}") for a in pending),
    }
    return page(request, "counter.html", status, clerk=signed.clerk, csrf=signed.csrf, **context)


def mismatch_text(mismatch: Mismatch) -> str:
    """Which agency disagreed, and why, as the clerk can act on it."""
    key = f"reason.{mismatch.reason}"
    reason = i18n.text(key if i18n.has(key) else "reason.other")
    if mismatch.agency is None:
        return i18n.text("counter.mismatch.unnamed", reason=reason)
    agency = i18n.text(f"agency.{mismatch.agency.value}")
    return i18n.text("counter.mismatch.said", agency=agency, reason=reason)
