"""What pages served to people's browsers share: cookies that only our own pages get back,
the `Origin` check on forms, and CSRF proofs. The codec server's sign-in (`codec.server`),
the clerk console and the citizen's set-password page (`console`) use it.

A CSRF proof is an HMAC, under the token pepper, of a secret the browser holds in an HttpOnly
cookie: a random nonce before sign-in (double submit), the session id after it (the proof is
then bound to the session). A neighbouring site can neither read the cookie nor compute the
proof without the pepper, so a form it makes the browser post fails the check.
"""

from __future__ import annotations

import hmac
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from registration.callers import token_hash


def own_origin(request: Request, configured: str | None) -> str:
    """The origin our pages are served from: `configured` (behind a proxy), else this
    request's own scheme and host."""
    own = configured or f"{request.url.scheme}://{request.headers.get('host', '')}"
    return own.rstrip("/").lower()


def from_own_origin(request: Request, configured: str | None) -> bool:
    """Whether a posted form comes from our own pages: its `Origin` header names
    `own_origin`. Browsers send it with every POST; a request without one fails."""
    return request.headers.get("origin", "").lower() == own_origin(request, configured)


def csrf_proof(pepper: bytes, purpose: str, secret: str) -> str:
    """What a form's hidden field must hold for the browser's `secret` (a nonce, or the
    session id) in a form of `purpose`. Keyed, so a cookie planted by a neighbouring site
    cannot be matched without the pepper."""
    return token_hash(pepper, f"{purpose}:{secret}")


def csrf_matches(pepper: bytes, purpose: str, secret: str, proof: str) -> bool:
    """Whether `proof` is the CSRF proof of `secret` (which must not be empty)."""
    expected = csrf_proof(pepper, purpose, secret)
    return bool(secret) and hmac.compare_digest(proof.encode(), expected.encode())


def set_cookie(
    request: Request,
    answer: Response,
    name: str,
    value: str,
    seconds: int,
    path: str = "/",
    *,
    same_site: Literal["strict", "lax"] = "strict",
) -> None:
    """Set an HttpOnly, SameSite=Strict cookie (Secure over https): scripts cannot read it,
    and the browser sends it only with requests from our own site. A cookie set by a page
    that a link from elsewhere (an e-mail, an SMS) opens and redirects is `lax`: a strict one
    would not come back with the redirect, which the browser counts as from that elsewhere;
    a lax one still never comes with another site's POST."""
    answer.set_cookie(
        name,
        value,
        max_age=seconds,
        path=path,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite=same_site,
    )


def delete_cookie(
    answer: Response, name: str, path: str = "/", *, same_site: Literal["strict", "lax"] = "strict"
) -> None:
    answer.delete_cookie(name, path=path, httponly=True, samesite=same_site)
