"""Pages: the templates, the words in them (`console.i18n`), and the headers every console
answer carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from console import i18n
from registration.errors import FieldError

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.globals["t"] = i18n.text
TEMPLATES.env.globals["lang"] = i18n.LANGUAGE
TEMPLATES.env.filters["day"] = lambda moment: f"{moment:%d.%m.%Y}"
TEMPLATES.env.filters["clock"] = lambda moment: f"{moment:%H:%M}"
TEMPLATES.env.undefined = StrictUndefined  # a misspelt name fails the page, not the clerk

SECURITY_HEADERS = {
    # Pages hold personal data: never cached, never framed, no referrer to other sites.
    # ("no-referrer" would make browsers send `Origin: null` with our own forms.)
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def secured(answer: Response) -> Response:
    answer.headers.update(SECURITY_HEADERS)
    return answer


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`; every template may use `clerk` and `csrf` (None
    before sign-in), `errors` (a field's id → its message) and `audience` (`clerk`, or
    `citizen` for the pages citizens open)."""
    context.setdefault("audience", "clerk")
    context.setdefault("clerk", None)
    context.setdefault("csrf", None)
    context.setdefault("errors", {})
    answer = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    secured(answer)
    return answer


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """The broken rules as the console says them, per field (the first rule of each)."""
    said: dict[str, str] = {}
    for error in errors:
        said.setdefault(error.field, rule_text(error))
    return said


def rule_text(error: FieldError) -> str:
    key = f"error.{error.code}"
    return i18n.text(key) if i18n.has(key) else i18n.text("error.field")


def local_time(moment: str | datetime, zone: str, *, seconds: bool = False) -> str:
    """A moment (or its ISO 8601 text) as clerks read it: day and time in `zone`, to the
    second when `seconds` (a code's minute-long cooldown)."""
    try:
        parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    except ValueError:
        return str(moment)
    layout = "%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M"
    return parsed.astimezone(ZoneInfo(zone)).strftime(layout)


def clock_time(moment: datetime, zone: str) -> str:
    """A moment of today as clerks read it: the time in `zone`, to the second."""
    return f"{moment.astimezone(ZoneInfo(zone)):%H:%M:%S}"
