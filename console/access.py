"""Who may use the console, and how a request proves it: the signed-in clerk of a session
cookie, forms from the console's own pages only, and a page (never a JSON error or a bare
500) for whatever goes wrong.

- The browser holds a random session id in an HttpOnly, SameSite=Strict cookie scoped to
  `/console` (Secure over https); the server keeps only its keyed hash (`store.clerks`). A
  request without a live session is sent to sign in; an API token opens nothing here, and
  the session opens nothing outside (the API takes tokens only).
- Every POST must come from the console's own origin (`Origin`, `console_origin`) and carry
  a CSRF proof (`browser`): before sign-in, of a random nonce in a cookie (double submit);
  after it, of the session id, so the proof is bound to the session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import RedirectResponse, Response
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

import browser
from api.deps import Services
from api.errors import REFUSAL_STATUS
from console import i18n
from console.render import local_time, page, secured
from registration.callers import Principal, Role
from registration.errors import StepRefused
from service.clerk_desk import ClerkDesk
from service.clerk_signin import ClerkSignIn
from service.counter_desk import CounterDesk
from service.registrations import Registrations
from service.temporal import is_connect_failure
from settings import Settings
from store.repository import RegistrationNotFound

log = logging.getLogger(__name__)

PREFIX = "/console"
SESSION_COOKIE = "gosreg_console_session"
CSRF_COOKIE = "gosreg_console_csrf"
CSRF_FIELD = "csrf"
SIGN_IN_PURPOSE = "console-sign-in"
SESSION_PURPOSE = "console-session"
CSRF_SECONDS = 3600  # how long a sign-in form stays usable
MAX_FIELDS = 20  # a console form has a handful (the body's size is `api.limits`')


@dataclass
class ConsoleServices:
    """What the console's pages use, made once from the API's `Services`."""

    settings: Settings
    registrations: Registrations
    sign_in: ClerkSignIn
    desk: ClerkDesk
    counter: CounterDesk

    @property
    def pepper(self) -> bytes:
        return self.settings.token_pepper_bytes


def console_services(request: Request) -> ConsoleServices:
    state = request.app.state
    found: ConsoleServices | None = getattr(state, "console", None)
    if found is None:
        shared: Services = state.services
        found = state.console = ConsoleServices(
            settings=shared.settings,
            registrations=shared.registrations,
            sign_in=ClerkSignIn(shared.engine, shared.settings),
            desk=ClerkDesk(shared.registrations, shared.engine, shared.settings),
            counter=CounterDesk(shared.registrations, shared.engine, shared.settings),
        )
    return found


ConsoleDep = Annotated[ConsoleServices, Depends(console_services)]


class SignInNeeded(Exception):
    """No live session: the browser is sent to sign in (`expired`: it had a session)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


class PageRefused(Exception):
    """A request answered with a page saying why, by catalog keys."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(title)
        self.status, self.title, self.text = status, title, text


@dataclass(frozen=True)
class Signed:
    """The signed-in clerk of a request, their session id and the CSRF proof their forms
    carry."""

    clerk: Principal
    session_id: str = field(repr=False)
    csrf: str = field(repr=False)


async def signed_in(request: Request, found: ConsoleDep) -> Signed:
    """The clerk whose live session the request's cookie names; else `SignInNeeded`. Only a
    clerk of a service center gets past: whatever identity provider signed them in."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise SignInNeeded(expired=False)
    clerk = await found.sign_in.clerk(session_id)
    if clerk is None or clerk.role is not Role.CLERK or not clerk.service_center_id:
        raise SignInNeeded(expired=True)
    proof = browser.csrf_proof(found.pepper, SESSION_PURPOSE, session_id)
    signed = request.state.signed = Signed(clerk=clerk, session_id=session_id, csrf=proof)
    return signed


SignedDep = Annotated[Signed, Depends(signed_in)]


async def posted(request: Request, found: ConsoleServices) -> dict[str, str]:
    """The fields of a form posted from the console's own pages (else a 403 page)."""
    if not browser.from_own_origin(request, found.settings.console_origin):
        raise PageRefused(403, "page.forbidden", "page.csrf")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


async def session_form(request: Request, found: ConsoleDep, signed: SignedDep) -> dict[str, str]:
    """The fields of a form a signed-in clerk posted from the console, with the CSRF proof
    of their session (else a 403 page)."""
    form = await posted(request, found)
    if not browser.csrf_matches(
        found.pepper, SESSION_PURPOSE, signed.session_id, form.get(CSRF_FIELD, "")
    ):
        raise PageRefused(403, "page.forbidden", "page.csrf")
    return form


SessionForm = Annotated[dict[str, str], Depends(session_form)]


def sign_in_url(reason: str | None = None) -> str:
    return f"{PREFIX}/sign-in" + (f"?reason={reason}" if reason else "")


def set_session_cookie(
    request: Request, answer: Response, found: ConsoleServices, value: str
) -> None:
    seconds = int(found.sign_in.lifetime.total_seconds())
    browser.set_cookie(request, answer, SESSION_COOKIE, value, seconds, path=PREFIX)


def refusal_text(refused: StepRefused, zone: str, *, context: str | None = None) -> str:
    """What a clerk is told of a step the registration refused, its moments in `zone`. Pages
    of a `context` ("counter") say it in their own words where the catalog has them, and
    their moments to the second."""
    keys = [f"{context}.refusal.{refused.code}"] if context else []
    key = next(
        (key for key in [*keys, f"refusal.{refused.code}"] if i18n.has(key)), "refusal.other"
    )
    moment = refused.details.get("locked_until") or refused.details.get("retry_at")
    until = local_time(moment, zone, seconds=bool(context)) if isinstance(moment, str) else ""
    return i18n.text(key, until=until)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsolePage(APIRoute):
    """A console route: whatever it raises becomes a page in the console's words (or a way
    back to sign-in), and every answer carries the console's security headers. Pages for
    citizens (`console.citizen`) are framed for them (`audience`)."""

    audience = "clerk"

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            request.state.audience = self.audience
            try:
                return secured(await handler(request))
            except SignInNeeded as needed:
                back = RedirectResponse(sign_in_url("expired" if needed.expired else None), 303)
                browser.delete_cookie(back, SESSION_COOKIE, path=PREFIX)
                return secured(back)
            except PageRefused as refused:
                return error_page(request, refused.status, refused.title, i18n.text(refused.text))
            except (RequestValidationError, RegistrationNotFound):
                return error_page(request, 404, "page.not_found", i18n.text("page.not_found_text"))
            except StepRefused as refused:
                zone = console_services(request).settings.console_timezone
                status = REFUSAL_STATUS.get(refused.code, 409)
                return error_page(request, status, "page.refused", refusal_text(refused, zone))
            except (
                OperationalError,
                InterfaceError,
                PoolTimeout,
                RPCError,
                RPCTimeoutOrCancelledError,
            ) as error:
                log.warning("console: a store or Temporal call failed: %s", type(error).__name__)
                return error_page(
                    request, 503, "page.unavailable", i18n.text("page.unavailable_text")
                )
            except RuntimeError as error:
                if not is_connect_failure(error):
                    raise
                log.warning("console: Temporal unreachable")
                return error_page(
                    request, 503, "page.unavailable", i18n.text("page.unavailable_text")
                )
            except Exception:
                log.exception("console: unexpected failure on %s %s", request.method, self.path)
                return error_page(
                    request, 500, "page.unexpected", i18n.text("page.unexpected_text")
                )

        return answer


class CitizenPage(ConsolePage):
    """A route of a page for citizens: failures are said in their frame."""

    audience = "citizen"


def error_page(request: Request, status: int, title: str, text: str) -> Response:
    """A page saying what went wrong; within the console's frame when a clerk is signed in."""
    signed: Signed | None = getattr(request.state, "signed", None)
    if signed is None:
        audience = getattr(request.state, "audience", "clerk")
        return page(request, "message.html", status, title=title, text=text, audience=audience)
    return page(
        request,
        "message.html",
        status,
        title=title,
        text=text,
        clerk=signed.clerk,
        csrf=signed.csrf,
    )
