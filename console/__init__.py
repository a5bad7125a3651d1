"""The clerk console: a service-center clerk's pages in the browser, at `/console` on the API.

Server-rendered (FastAPI and Jinja2 templates, one stylesheet, no script), in Russian (every
word in `console.i18n`), usable with the keyboard alone. A clerk signs in with a password and
a TOTP code (`service.clerk_signin`), finds a person awaiting identity confirmation, enters
the documents seen and gets the workflow's verdict (`service.clerk_desk`), registers a person
from scratch (`service.counter_desk`), and sees the day's work of their center. It goes
through the service layer, as the API's clerk routes do, with the same rules and limits.

- `console.access`: sessions, forms from our own pages only, a page for every failure;
- `console.citizen`: the one page for citizens, where the one-time link from a counter
  registration sets the password (the portal's page, which the local stack serves itself);
- `console.routes`: signing in, finding, confirming, the day; `console.counter`: registering
  a person from scratch; `console.render`: templates and headers.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import citizen, counter, routes
from console.access import PREFIX
from console.render import HERE


def install(app: FastAPI) -> None:
    """Serve the console from `app` (the API), at `/console`, and the citizen's page that
    sets the password of an account made at a counter, at `/set-password`."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(citizen.router)
    app.include_router(counter.router)
    app.include_router(routes.router)  # last: it answers every other path with a 404 page
