"""The console's pages: sign in and out, find a person, confirm their identity, the day.

Every page but sign-in needs a live clerk session (`console.access.SignedDep`); every POST
comes from the console's own pages with its CSRF proof. Lookups and documents travel in POST
bodies, never in URLs (which end up in logs and browser history).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

import browser
from api.deps import RegistrationId
from api.errors import REFUSAL_STATUS
from console import i18n
from console.access import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_SECONDS,
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_PURPOSE,
    ConsoleDep,
    ConsolePage,
    ConsoleServices,
    PageRefused,
    SessionForm,
    Signed,
    SignedDep,
    posted,
    refusal_text,
    set_session_cookie,
    sign_in_url,
)
from console.render import field_errors, local_time, page
from registration.errors import InvalidInput, StepRefused
from service.clerk_desk import Card, DocumentsSeen, Lookup, SearchBy, Verdict
from service.clerk_signin import Credentials, SignInRefused

router = APIRouter(prefix=PREFIX, route_class=ConsolePage, include_in_schema=False)

SIGN_IN_NOTES = {"expired": "sign_in.expired", "signed_out": "sign_in.signed_out"}
DOCUMENTS = ("passport_series", "passport_number", "snils")


@router.get("/")
async def home(request: Request, found: ConsoleDep) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    signed = session_id is not None and await found.sign_in.clerk(session_id) is not None
    return RedirectResponse(f"{PREFIX}/search" if signed else sign_in_url(), 303)


# --- signing in and out -------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_form(request: Request, found: ConsoleDep, reason: str = "") -> Response:
    return sign_in_page(request, found, note=SIGN_IN_NOTES.get(reason))


@router.post("/sign-in")
async def sign_in(request: Request, found: ConsoleDep) -> Response:
    form = await posted(request, found)
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not browser.csrf_matches(found.pepper, SIGN_IN_PURPOSE, nonce, form.get(CSRF_FIELD, "")):
        raise PageRefused(403, "page.forbidden", "page.csrf")
    credentials = Credentials(
        login=form.get("login", ""), password=form.get("password", ""), code=form.get("code", "")
    )
    try:
        _, session_id = await found.sign_in.sign_in(
            credentials, replacing=request.cookies.get(SESSION_COOKIE)
        )
    except SignInRefused:
        return sign_in_page(request, found, status=401, refused=True, login=credentials.login)
    answer = RedirectResponse(f"{PREFIX}/search", 303)
    set_session_cookie(request, answer, found, session_id)
    browser.delete_cookie(answer, CSRF_COOKIE, path=PREFIX)
    return answer


def sign_in_page(
    request: Request,
    found: ConsoleServices,
    *,
    status: int = 200,
    note: str | None = None,
    refused: bool = False,
    login: str = "",
) -> Response:
    """The sign-in form with a fresh CSRF nonce (cookie) and its proof (hidden field)."""
    nonce = secrets.token_urlsafe(32)
    settings = found.settings
    answer = page(
        request,
        "sign_in.html",
        status,
        sign_in_csrf=browser.csrf_proof(found.pepper, SIGN_IN_PURPOSE, nonce),
        note=note,
        refused=refused,
        login=login,
        failures=settings.console_sign_in_failures,
        minutes=f"{settings.console_lockout_minutes:g}",
    )
    browser.set_cookie(request, answer, CSRF_COOKIE, nonce, CSRF_SECONDS, path=PREFIX)
    return answer


@router.post("/sign-out")
async def sign_out(found: ConsoleDep, signed: SignedDep, form: SessionForm) -> Response:
    await found.sign_in.sign_out(signed.session_id, signed.clerk)
    answer = RedirectResponse(sign_in_url("signed_out"), 303)
    browser.delete_cookie(answer, SESSION_COOKIE, path=PREFIX)
    return answer


# --- finding a person ---------------------------------------------------------------------------


@router.get("/search")
async def search_form(request: Request, signed: SignedDep) -> Response:
    return search_page(request, signed)


@router.post("/search")
async def search(
    request: Request, found: ConsoleDep, signed: SignedDep, form: SessionForm
) -> Response:
    try:
        lookup = Lookup(
            by=SearchBy(form.get("by", "")),
            snils=form.get("snils", ""),
            phone=form.get("phone", ""),
            passport_series=form.get("passport_series", ""),
            passport_number=form.get("passport_number", ""),
        )
    except ValueError:
        raise PageRefused(400, "page.forbidden", "page.csrf") from None
    try:
        cards = await found.desk.find(signed.clerk, lookup)
    except InvalidInput as invalid:
        return search_page(
            request, signed, status=422, lookup=lookup, errors=field_errors(invalid.errors)
        )
    return search_page(request, signed, lookup=lookup, cards=cards)


def search_page(
    request: Request,
    signed: Signed,
    *,
    status: int = 200,
    lookup: Lookup | None = None,
    cards: list[Card] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "search.html",
        status,
        **signed_context(signed),
        lookup=lookup or Lookup(by=SearchBy.SNILS),
        cards=cards,
        errors=errors or {},
    )


# --- a registration -----------------------------------------------------------------------------


@router.get("/registrations/{registration_id}")
async def registration(
    request: Request, found: ConsoleDep, signed: SignedDep, registration_id: RegistrationId
) -> Response:
    card = await found.desk.card(signed.clerk, registration_id)
    return card_page(request, found, signed, card)


@router.post("/registrations/{registration_id}/confirmation")
async def confirm(
    request: Request,
    found: ConsoleDep,
    signed: SignedDep,
    form: SessionForm,
    registration_id: RegistrationId,
) -> Response:
    seen = DocumentsSeen(**{name: form.get(name, "") for name in DOCUMENTS})
    try:
        verdict = await found.desk.confirm(
            signed.clerk, registration_id, seen, form.get("form_id", "")
        )
    except InvalidInput as invalid:
        card = await found.desk.card(signed.clerk, registration_id)
        errors = field_errors(invalid.errors)
        return card_page(request, found, signed, card, status=422, seen=seen, errors=errors)
    except StepRefused as refused:
        card = await found.desk.card(signed.clerk, registration_id)
        text = refusal_text(refused, found.settings.console_timezone)
        status = REFUSAL_STATUS.get(refused.code, 409)
        return card_page(request, found, signed, card, status=status, refusal=text, seen=seen)
    card = await found.desk.card(signed.clerk, registration_id)
    return card_page(request, found, signed, card, verdict=verdict, seen=seen)


def card_page(
    request: Request,
    found: ConsoleServices,
    signed: Signed,
    card: Card,
    *,
    status: int = 200,
    verdict: Verdict | None = None,
    refusal: str | None = None,
    seen: DocumentsSeen | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The registration and, while it awaits confirmation, the form for the documents (a
    new form id every time it is shown: a double-sent form is one step)."""
    confirmed = verdict is not None and verdict.confirmed
    return page(
        request,
        "registration.html",
        status,
        **signed_context(signed),
        card=card,
        verdict=verdict,
        verdict_text=verdict_text(verdict, found.settings.console_timezone) if verdict else None,
        refusal=refusal,
        seen=seen if seen is not None and not confirmed else DocumentsSeen("", "", ""),
        can_confirm=card.awaiting and not confirmed,
        form_id=secrets.token_urlsafe(16),
        errors=errors or {},
    )


def verdict_text(verdict: Verdict, zone: str) -> list[str]:
    """The verdict in the clerk's words: what happened, then what to do."""
    if verdict.confirmed:
        return [i18n.text("verdict.confirmed")]
    if verdict.differs:
        named = [i18n.text(f"document.{document}") for document in verdict.differs]
        key = "verdict.refused_plural" if len(named) > 1 else "verdict.refused"
        said = [i18n.text(key, documents=i18n.text("document.and").join(named))]
    else:
        said = [i18n.text("verdict.refused_unnamed")]
    if verdict.locked_until is not None:
        said.append(i18n.text("verdict.locked", until=local_time(verdict.locked_until, zone)))
    else:
        said.append(i18n.text("verdict.check_again"))
    return said


# --- the day ------------------------------------------------------------------------------------


@router.get("/day")
async def day(request: Request, found: ConsoleDep, signed: SignedDep) -> Response:
    now = datetime.now(UTC)
    entries = await found.desk.day(signed.clerk, now)
    return page(
        request,
        "day.html",
        **signed_context(signed),
        entries=entries,
        today=local_time(now, found.settings.console_timezone)[:10],
        documents=lambda names: i18n.text("document.and").join(
            i18n.text(f"document.{name}") for name in names
        ),
    )


def signed_context(signed: Signed) -> dict[str, Any]:
    return {"clerk": signed.clerk, "csrf": signed.csrf}


@router.api_route("/{anything:path}", methods=["GET", "POST"])
async def nowhere(request: Request) -> Response:
    raise PageRefused(404, "page.not_found", "page.not_found_text")
