"""Opaque cursors for the lists that come in pages (`GET /v1/support/stuck`, the audit trail).

A page answers with `next_cursor`; the caller sends it back as `cursor` for the next page, and
gets `null` after the last one. A cursor is base64url-encoded JSON with a keyed MAC, which only
this API makes and reads: a cursor it did not make (edited, truncated, from another
deployment) is a 422 on `cursor` before anything is asked of Temporal or PostgreSQL, which
would take a forged page token for a fault.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Annotated, Any

from fastapi import Depends, Query

from api.deps import ServicesDep
from api.errors import ApiError

CursorParam = Annotated[
    str | None,
    Query(
        max_length=2048,
        description="The `next_cursor` of the previous page; none for the first page.",
    ),
]

MAC_BYTES = 16


class Cursors:
    """Makes and reads cursors, authenticated with `key`."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, position: dict[str, Any]) -> str:
        """The cursor of a position in a list."""
        payload = _b64(json.dumps(position, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def decode(self, cursor: str) -> dict[str, Any]:
        """The position `encode` made `cursor` of; a 422 for anything else."""
        payload, _, mac = cursor.partition(".")
        try:
            genuine = hmac.compare_digest(_unb64(mac), self._mac(payload))
            position = json.loads(_unb64(payload)) if genuine else None
        except (ValueError, binascii.Error) as error:
            raise invalid_cursor() from error
        if not isinstance(position, dict):
            raise invalid_cursor()
        return position

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:MAC_BYTES]


def cursors(found: ServicesDep) -> Cursors:
    """Cursors keyed with a key of their own, derived from the token pepper."""
    pepper = found.settings.token_pepper_bytes
    return Cursors(hmac.new(pepper, b"gosreg list cursor", hashlib.sha256).digest())


CursorsDep = Annotated[Cursors, Depends(cursors)]


def invalid_cursor(message: str = "The cursor is not one this list answered with") -> ApiError:
    return ApiError(422, "invalid_input", message, field="cursor")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())
