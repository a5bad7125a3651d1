"""Who calls the service: roles, the principal a request acts as, and API tokens.

A token is `gsr_` followed by 43 URL-safe random characters (256 bits). It is shown once, when
created (`gosreg tokens create`), and stored only as an HMAC-SHA256 keyed with the pepper
(`Settings.token_pepper`), so a copy of the database alone is not enough to recognise, let
alone forge, a token. The hash is deterministic, which lets the database find a token by
equality on an indexed column; comparing keyed hashes leaks nothing usable about the token.

Pure, no framework: the API, the store (`store.access`), the codec server and `ops.tokens`
all use it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

TOKEN_PREFIX = "gsr_"
# secrets.token_urlsafe(32) encodes 32 bytes as 43 base64url characters, without padding.
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43


class Role(StrEnum):
    """What a client is; each role may call only its own endpoints."""

    PORTAL = "portal"
    CLERK = "clerk"
    BANK = "bank"
    ESIGNATURE = "esignature"
    SUPPORT = "support"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request. A clerk is one person bound to one service
    center (`service_center_id`); every other role has none."""

    client_id: str
    role: Role
    # A clerk's name is personal data: kept out of repr() so it cannot reach a log line.
    name: str = field(repr=False)
    service_center_id: str | None

    @property
    def actor(self) -> str:
        """Who acted, for audit trails: `<role>:<client id>`, never the name."""
        return f"{self.role.value}:{self.client_id}"


def new_token() -> str:
    """A fresh random API token; store only `token_hash` of it."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token(token: str) -> bool:
    """Whether `token` has the shape of one of ours, so that garbage can be refused without
    a database round trip."""
    return len(token) == TOKEN_LENGTH and token.startswith(TOKEN_PREFIX)


def token_hash(pepper: bytes, token: str) -> str:
    """HMAC-SHA256 of `token` keyed with `pepper`, in hex: what the store keeps and looks up."""
    return hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()
