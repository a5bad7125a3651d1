"""Signing in to the codec server as a browser does: fetch the form (its CSRF cookie lands in
the client's cookie jar), then post it back with its hidden proof, from the server's origin."""

from __future__ import annotations

import re

import httpx

from codec.server import CSRF_FIELD, SESSION_COOKIE

_PROOF = re.compile(rf'name="{CSRF_FIELD}" value="([^"]*)"')


def origin_of(browser: httpx.AsyncClient) -> str:
    """The `Origin` a browser sends with a form from the server at `browser`'s base URL."""
    return f"{browser.base_url.scheme}://{browser.base_url.netloc.decode()}"


async def csrf_proof(browser: httpx.AsyncClient) -> str:
    """Load the sign-in form; returns its hidden CSRF proof (the nonce is now a cookie)."""
    form = await browser.get("/login")
    assert form.status_code == 200, form.text
    found = _PROOF.search(form.text)
    assert found is not None, form.text
    return found[1]


async def post_login(
    browser: httpx.AsyncClient, token: str, proof: str | None, origin: str | None
) -> httpx.Response:
    """POST /login with `token`, the CSRF `proof` (None: left out) and `origin` (None: no
    Origin header), and whatever the browser's cookie jar holds."""
    data = {"token": token} if proof is None else {"token": token, CSRF_FIELD: proof}
    headers = {} if origin is None else {"Origin": origin}
    return await browser.post("/login", data=data, headers=headers)


async def sign_in(browser: httpx.AsyncClient, token: str) -> str:
    """Sign in with `token` as a browser does; returns the session id, which stays in the
    browser's cookie jar. The answer sends the browser on to the start page."""
    response = await post_login(browser, token, await csrf_proof(browser), origin_of(browser))
    assert response.status_code == 303, response.text
    return response.cookies[SESSION_COOKIE]
