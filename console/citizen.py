"""The citizen's page to set the password of an account made at a service-center counter.

The account is confirmed at the counter without a password; the citizen gets a one-time link,
`{portal_url}/set-password?registration=…&token=…`, on their proven contact. The portal would
serve that page; in the local stack `portal_url` is the API, so the API serves this minimal one
(no sign-in: the link is the proof).

The link's token leaves the address bar at once: the first load keeps the registration and the
token in an HttpOnly cookie scoped to this page (`lax`, so that it comes back with the redirect
of a link opened from a mail or SMS app) and redirects to the bare `/set-password`, so the
token is in no later request line, history entry or `Referer`. Access lines drop queries
(`service.logs`) and spans carry route templates (`service.tracing`), so the first request
leaves no token in the logs either. The form is posted from our own origin with a CSRF proof
bound to the cookie (double submit, as the console's sign-in). A link that is mistyped, used or
out of date is refused alike (`Refusal.LINK_INVALID`), and the page says to ask for a new one.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

import browser
from console import i18n
from console.access import CSRF_FIELD, CitizenPage, ConsoleDep, ConsoleServices, PageRefused, posted
from console.render import page, rule_text
from registration.errors import FieldError, InvalidInput, Refusal, StepRefused

PATH = "/set-password"
LINK_COOKIE = "gosreg_password_link"
LINK_PURPOSE = "set-password"
LINK_SECONDS = 3600
"""How long an opened link's page stays usable in the browser (the link itself lasts longer)."""
LINK_SHAPE = re.compile(r"(?P<registration>[A-Za-z0-9_-]{1,100}):(?P<token>[A-Za-z0-9-]{1,64})")

router = APIRouter(route_class=CitizenPage, include_in_schema=False)


@router.get(PATH)
async def opened(
    request: Request, found: ConsoleDep, registration: str = "", token: str = ""
) -> Response:
    """The link as sent (kept in the cookie, then out of the address bar), or the form."""
    if registration or token:
        link = f"{registration}:{token}"
        if LINK_SHAPE.fullmatch(link) is None:
            raise PageRefused(410, "citizen.invalid", "citizen.invalid_text")
        answer = RedirectResponse(PATH, 303)
        browser.set_cookie(
            request, answer, LINK_COOKIE, link, LINK_SECONDS, path=PATH, same_site="lax"
        )
        return answer
    link = request.cookies.get(LINK_COOKIE, "")
    if LINK_SHAPE.fullmatch(link) is None:
        raise PageRefused(410, "citizen.invalid", "citizen.invalid_text")
    return form_page(request, found, link)


@router.post(PATH)
async def set_password(request: Request, found: ConsoleDep) -> Response:
    form = await posted(request, found)
    link = request.cookies.get(LINK_COOKIE, "")
    shape = LINK_SHAPE.fullmatch(link)
    if shape is None or not browser.csrf_matches(
        found.pepper, LINK_PURPOSE, link, form.get(CSRF_FIELD, "")
    ):
        raise PageRefused(403, "page.forbidden", "citizen.csrf")
    try:
        await found.registrations.set_password_by_link(
            shape["registration"],
            shape["token"],
            form.get("password", ""),
            form.get("password_repeated", ""),
        )
    except InvalidInput as invalid:
        return form_page(request, found, link, status=422, errors=password_errors(invalid.errors))
    except StepRefused as refused:
        if refused.code is not Refusal.LINK_INVALID:
            raise
        refusal = page(
            request,
            "message.html",
            410,
            audience="citizen",
            title="citizen.invalid",
            text=i18n.text("citizen.invalid_text"),
        )
        browser.delete_cookie(refusal, LINK_COOKIE, path=PATH, same_site="lax")
        return refusal
    answer = RedirectResponse(f"{PATH}/done", 303)
    browser.delete_cookie(answer, LINK_COOKIE, path=PATH, same_site="lax")
    return answer


@router.get(f"{PATH}/done")
async def done(request: Request) -> Response:
    return page(request, "citizen_password.html", audience="citizen", done=True)


def form_page(
    request: Request,
    found: ConsoleServices,
    link: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    """The password form, with its CSRF proof bound to the link's cookie."""
    return page(
        request,
        "citizen_password.html",
        status,
        audience="citizen",
        done=False,
        link_csrf=browser.csrf_proof(found.pepper, LINK_PURPOSE, link),
        errors=errors or {},
    )


def password_errors(errors: list[FieldError]) -> dict[str, str]:
    """Every rule the password breaks, at its field (a citizen fixes them all at once)."""
    said: dict[str, list[str]] = {}
    for error in errors:
        said.setdefault(error.field, []).append(rule_text(error))
    return {field: _one_sentence(list(dict.fromkeys(rules))) for field, rules in said.items()}


def _one_sentence(rules: list[str]) -> str:
    """ "Нужна цифра", "Без фамилии" → "Нужна цифра; без фамилии"."""
    return "; ".join([rules[0], *(rule[:1].lower() + rule[1:] for rule in rules[1:])])
