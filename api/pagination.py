"""Opaque cursors for the lists that come in pages (`GET /v1/support/stuck`, the audit trail).

A page answers with `next_cursor`; the caller sends it back as `cursor` for the next page, and
gets `null` after the last one. A cursor is base64url-encoded JSON that only this module reads:
callers must not build or change one. A cursor that does not decode is a 422 on `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query

from api.errors import ApiError

CursorParam = Annotated[
    str | None,
    Query(
        max_length=2048,
        description="The `next_cursor` of the previous page; none for the first page.",
    ),
]


def encode_cursor(position: dict[str, Any]) -> str:
    """The opaque cursor of a position in a list."""
    text = json.dumps(position, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position `encode_cursor` made `cursor` of; a 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as error:
        raise invalid_cursor() from error
    if not isinstance(position, dict):
        raise invalid_cursor()
    return position


def invalid_cursor(message: str = "The cursor is not one this list answered with") -> ApiError:
    return ApiError(422, "invalid_input", message, field="cursor")
