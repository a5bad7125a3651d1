"""Clerk accounts of the console and the credentials they sign in with: created, listed and
disabled by an administrator (`gosreg clerks`).

A clerk proves who they are with a password (argon2, `store.passwords`) and a TOTP code
(RFC 6238: 6 digits every 30 seconds, from an authenticator app enrolled once with the secret
or its QR code). The TOTP secret must be readable by the API to check codes, so it cannot be
hashed: it is stored encrypted with AES-256-GCM (`SecretBox`) under a key derived from the
token pepper, and bound to its account's id, so a copy of the database alone yields no secret
and one account's ciphertext does not work as another's.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import os
import re
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.errors import FieldError, InvalidInput
from registration.password import validate_password
from store import clerks
from store.clerks import ClerkRecord
from store.passwords import hash_password

ACCOUNT_ID_PREFIX = "clk_"
ISSUER = "gosreg"
"""How an authenticator app names the console's codes."""
TOTP_DIGITS = 6
TOTP_INTERVAL = 30  # seconds
TOTP_WINDOW = 1
"""Codes of this many steps before and after now are taken too: a phone's clock drifts, and a
code typed at the end of its 30 seconds arrives in the next step."""
CLERK_PASSWORD_MIN = 12
"""Longer than a citizen's: a clerk's account confirms other people's identities."""
LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]")
SERVICE_CENTER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SEALED_VERSION = "v1"


class SecretBox:
    """AES-256-GCM with a key derived (HKDF-SHA256) from the token pepper, for the secrets of
    clerk accounts. A sealed secret is `v1:` and base64url of a 12-byte random nonce and the
    ciphertext, authenticated together with what it is bound to (the account id)."""

    def __init__(self, pepper: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"gosreg clerk account secrets",
        ).derive(pepper)
        self._aead = AESGCM(key)

    def seal(self, secret: str, bound_to: str) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), bound_to.encode())
        return f"{_SEALED_VERSION}:{base64.urlsafe_b64encode(sealed).decode()}"

    def open(self, sealed: str, bound_to: str) -> str:
        """The secret; ValueError when it was sealed under another key (the pepper changed)
        or for another account, or was tampered with."""
        version, _, encoded = sealed.partition(":")
        try:
            raw = base64.urlsafe_b64decode(encoded)
            if version != _SEALED_VERSION:
                raise ValueError(version)
            return self._aead.decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (InvalidTag, ValueError):
            raise ValueError("a clerk's secret cannot be opened with this pepper") from None


def new_totp_secret() -> str:
    """A fresh TOTP secret: 32 base32 characters, 160 bits (RFC 4226's recommendation)."""
    return pyotp.random_base32()


def totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code `code` is, within `TOTP_WINDOW` steps of `at`; None when it
    is none of them. Compared in constant time."""
    typed = code.strip().replace(" ", "")
    if len(typed) != TOTP_DIGITS or not typed.isdigit():
        return None
    generator = totp(secret)
    now = generator.timecode(at)
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if hmac.compare_digest(generator.generate_otp(step), typed):
            return step
    return None


def provisioning_uri(secret: str, login: str) -> str:
    """The `otpauth://` URI an authenticator app enrols from (as text or as a QR code)."""
    return totp(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def new_password() -> str:
    """An initial password that passes the clerk policy: 20 random characters."""
    alphabet = string.ascii_letters + string.digits + "!#%*+-=?@_"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(20))
        try:
            check_password(candidate, name="")
        except InvalidInput:
            continue
        return candidate


def check_password(password: str, *, name: str) -> None:
    """The citizens' password policy, at least `CLERK_PASSWORD_MIN` characters long."""
    if len(password) < CLERK_PASSWORD_MIN:
        raise InvalidInput(
            [
                FieldError(
                    field="password",
                    code="password.too_short",
                    message=f"A clerk's password must be at least {CLERK_PASSWORD_MIN} characters",
                )
            ]
        )
    surname, _, first = name.strip().rpartition(" ")
    validate_password(password, surname=surname or None, name=first or None)


def normalize_login(login: str) -> str:
    """A login as stored and looked up: trimmed, lower-case."""
    return login.strip().lower()


@dataclass(frozen=True)
class Enrolment:
    """A new account and what its clerk needs, shown once: the initial password (None when
    the administrator chose it) and the TOTP secret with its `otpauth://` URI."""

    account_id: str
    login: str
    service_center_id: str
    password: str | None = field(repr=False)
    totp_secret: str = field(repr=False)
    uri: str = field(repr=False)


async def create_clerk(
    engine: AsyncEngine,
    pepper: bytes,
    *,
    login: str,
    name: str,
    service_center_id: str,
    password: str | None = None,
) -> Enrolment:
    """Create a clerk account. Without `password` an initial one is made up (and returned
    once). Raises `InvalidInput` for a malformed login, name, service center or password,
    `store.clerks.LoginTaken` for a login in use."""
    login = normalize_login(login)
    name = " ".join(name.split())
    service_center_id = service_center_id.strip()
    problems = []
    if not LOGIN_PATTERN.fullmatch(login):
        problems.append(
            FieldError(
                field="login",
                code="login.format",
                message="A login is 3-64 Latin letters, digits, dots, hyphens or underscores",
            )
        )
    if not name or len(name) > 200:
        problems.append(
            FieldError(field="name", code="name.required", message="A clerk needs a name")
        )
    if not SERVICE_CENTER_PATTERN.fullmatch(service_center_id):
        problems.append(
            FieldError(
                field="service_center",
                code="service_center.format",
                message="A service center id is 1-100 Latin letters, digits, dots, hyphens "
                "or underscores (e.g. mfc-77-001)",
            )
        )
    if problems:
        raise InvalidInput(problems)
    chosen = password is not None
    if password is None:
        password = new_password()
    else:
        check_password(password, name=name)
    account_id = ACCOUNT_ID_PREFIX + uuid.uuid4().hex[:16]
    secret = new_totp_secret()
    await clerks.create_account(
        engine,
        account_id=account_id,
        login=login,
        name=name,
        service_center_id=service_center_id,
        password_hash=await asyncio.to_thread(hash_password, password),
        totp_secret=SecretBox(pepper).seal(secret, account_id),
    )
    return Enrolment(
        account_id=account_id,
        login=login,
        service_center_id=service_center_id,
        password=None if chosen else password,
        totp_secret=secret,
        uri=provisioning_uri(secret, login),
    )


async def list_clerks(engine: AsyncEngine) -> list[ClerkRecord]:
    return await clerks.list_accounts(engine)


async def disable_clerk(engine: AsyncEngine, login: str) -> str | None:
    """Disable the account and end its sessions at once; its id, or None when no enabled
    account has this login."""
    return await clerks.disable_account(engine, normalize_login(login))
