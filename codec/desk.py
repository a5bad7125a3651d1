"""The pages of the support desk (the codec server's origin): sign in, then the start page with
the way into the Temporal UI that the desk serves (`codec.ui_proxy`).

Every page carries a strict Content-Security-Policy and one script, allowed by a nonce, that
gives the UI's workflow list support's columns the first time this browser opens the desk:
the UI keeps its column choice per namespace in the origin's localStorage
(`namespace-workflow-table-columns`, UI 2.x), and the desk is that origin. A choice support
made in the UI's column chooser is left alone.
"""

from __future__ import annotations

import html
import json
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

from fastapi.responses import HTMLResponse

from service.support import ui_filters
from workflows import search_attributes as search

COLUMNS_KEY = "namespace-workflow-table-columns"
SUPPORT_COLUMNS = [
    "Status",
    "Workflow ID",
    search.STAGE.name,
    search.STAGE_SINCE.name,
    search.PENDING_AGENCY.name,
    search.ATTENTION.name,
]
"""The workflow list's columns on the desk: labels as the UI names them (its own columns, and
search attributes by name)."""
_MAX_NEXT = 2000
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45}input{font:inherit}li{margin:.25rem 0}"
)


def safe_next(value: str | None, origin: str = "") -> str:
    """Where to go after signing in: a path on this origin (or a URL under `origin`, as the
    UI's own `returnUrl` is), else the start page. Never another site (`//host`, `/\\host`,
    a scheme), so the sign-in cannot redirect away."""
    if origin and value and value.lower().startswith(origin.lower() + "/"):
        value = value[len(origin) :]
    if (
        not value
        or len(value) > _MAX_NEXT
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(char) < 0x20 for char in value)
    ):
        return "/"
    return value


def workflows_path(namespace: str) -> str:
    return f"/namespaces/{quote(namespace, safe='')}/workflows"


def page(status: int, title: str, body: str, namespace: str) -> HTMLResponse:
    """A desk page: `body` (HTML, escaped by the caller) under `title`, with the column
    preset for `namespace`."""
    nonce = secrets.token_urlsafe(16)
    preset = json.dumps({"key": COLUMNS_KEY, "namespace": namespace, "columns": SUPPORT_COLUMNS})
    preset = preset.replace("<", "\\u003c")  # nothing in it can close the script element
    script = (
        f"(function(p){{try{{var all=JSON.parse(localStorage.getItem(p.key)||'{{}}')||{{}};"
        "if(!(all[p.namespace]||[]).length){all[p.namespace]=p.columns.map(function(c)"
        "{return {label:c};});localStorage.setItem(p.key,JSON.stringify(all));}}catch(e){}})"
        f"({preset});"
    )
    answer = HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)} · gosreg support desk</title><style>{_STYLE}</style>"
        f"</head><body><h1>gosreg support desk</h1>{body}"
        f'<script nonce="{nonce}">{script}</script></body></html>',
        status_code=status,
    )
    answer.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


def sign_in_body(message: str, csrf_field: str, proof: str, next_path: str, limits: str) -> str:
    """The sign-in form: the support token, the CSRF proof and where to go next, hidden."""
    return (
        f"<p>{html.escape(message)}</p>"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="{csrf_field}" value="{html.escape(proof)}">'
        f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
        '<label>Support token <input name="token" type="password" autocomplete="off" '
        'size="50" required autofocus></label> <button>Sign in</button></form>'
        "<p>This desk serves the Temporal Web UI with the registrations' payloads decoded for "
        "you. A support token comes from <code>gosreg tokens create --role support --name "
        '"…"</code>; the browser keeps only a session cookie, never the token. '
        f"{html.escape(limits)} Every decode is logged with your client id.</p>"
    )


def start_body(client_id: str, namespace: str, now: datetime) -> str:
    """The start page of a signed-in support person: the workflow list, the runbook's
    questions as filtered lists (`ui_filters`, times as of `now`), sign-out."""
    base = workflows_path(namespace)
    links = "".join(
        f'<li><a href="{html.escape(base)}?{html.escape(urlencode({"query": query}))}">'
        f"{html.escape(question)}</a></li>"
        for question, query in ui_filters(now).items()
    )
    return (
        f"<p>Signed in as <strong>{html.escape(client_id)}</strong>. The Temporal UI on this "
        "desk decodes payloads for you; it is for looking (act through the API: README, "
        '"Support runbook").</p>'
        f'<p><a href="{html.escape(base)}"><strong>Open the registrations</strong></a> '
        f"(namespace {html.escape(namespace)}). A registration's page: its current state in "
        "plain words under <em>User Metadata</em> → <em>Current Details</em>; its input and "
        "history decoded; agency retries under <em>Pending Activities</em>.</p>"
        f"<h2>Registrations that may be stuck</h2><p>As of {now:%Y-%m-%d %H:%M} UTC "
        "(the times are in the filters: reload this page for fresh ones).</p>"
        f"<ul>{links}</ul>"
        '<form method="post" action="/logout"><button>Sign out</button></form>'
    )
