"""Webhooks to the portal: the event's body and its signature, as Standard Webhooks define
them (https://www.standardwebhooks.com), so any of their receiver libraries verifies ours.

A delivery is a POST of the event's JSON with three headers: `webhook-id` (the event id, the
same on every retry: a receiver that remembers it applies each event once),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature` (`v1,` and the
base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the shared secret). A receiver checks the
signature and that the timestamp is recent (`verify`), which stops both forged and replayed
events. The secret is `whsec_` and base64 of at least 24 random bytes.

Pure: no I/O. The worker's activity (`activities.portal`) sends; the portal, the tests and
the benchmark's receiver verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from registration.activity_messages import PortalEvent

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
"""How far a timestamp may be from the receiver's clock (5 minutes, as Standard Webhooks)."""


class InvalidSignature(Exception):
    """The event was not signed with the shared secret, or not recently."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret; ValueError when it is malformed or short."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if len(key) < 24:
        raise ValueError("a webhook secret holds at least 24 random bytes")
    return key


def body(event: PortalEvent) -> bytes:
    """The JSON the portal receives: `type`, `timestamp` (when the change happened) and
    `data`. Ids, stages and levels only: no personal data."""
    data: dict[str, Any] = {
        "registration_id": event.registration_id,
        "stage": event.stage.value,
        "level": event.level.value,
        "method": event.method.value if event.method is not None else None,
    }
    payload = {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(key: bytes, event_id: str, timestamp: int, content: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + content
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(key: bytes, event_id: str, timestamp: int, content: bytes) -> dict[str, str]:
    """The headers of one delivery attempt at `timestamp` (Unix seconds)."""
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, event_id, timestamp, content),
    }


def verify(key: bytes, received: dict[str, str], content: bytes, now: int) -> str:
    """The event id of a delivery whose headers (lower-case names) and body are signed with
    `key` at a timestamp within `TOLERANCE_SECONDS` of `now`; else `InvalidSignature`."""
    event_id = received.get("webhook-id", "")
    stamp = received.get("webhook-timestamp", "")
    if not event_id or not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("missing id, or a timestamp that is not recent")
    expected = signature(key, event_id, int(stamp), content).encode()
    offered = received.get("webhook-signature", "").split()
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
        raise InvalidSignature("no signature matches")
    return event_id
