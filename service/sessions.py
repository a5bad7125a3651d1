"""Citizen sessions: what binds a registration to the person who proved its contact.

A start opens a session and answers with its secret once (`grs_` and 43 URL-safe characters,
256 bits); the store keeps only a keyed hash of it. Every later citizen step presents the
secret (`X-Registration-Session`). The session through which the contact code is entered
becomes the registration's owner and every other session of it is revoked (the workflow
decides, `store.repository.bind_session` records): knowing a phone number gives nothing, and
a new start for a running registration takes it over only by proving the contact again.
docs/security.md has the whole design.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "grs_"
SESSION_LENGTH = len(SESSION_PREFIX) + 43
SESSION_ID_PREFIX = "ses_"


def new_session() -> tuple[str, str]:
    """A fresh session: its secret (for the caller only) and its public id (for the
    workflow, the audit trail and the logs)."""
    return SESSION_PREFIX + secrets.token_urlsafe(32), SESSION_ID_PREFIX + secrets.token_hex(12)


def looks_like_session(token: str) -> bool:
    return len(token) == SESSION_LENGTH and token.startswith(SESSION_PREFIX)


def session_hash(secret: bytes, token: str) -> str:
    """What the store keeps of a session's secret: HMAC-SHA256 keyed with the code secret."""
    return hmac.new(secret, f"session\x1f{token}".encode(), hashlib.sha256).hexdigest()
