"""One-time codes: SMS codes, e-mail link tokens and letter codes.

A code is *derived* from a secret and the (registration, purpose, sequence) it belongs to, so
an activity that is retried produces the same code and the gateway's idempotency key makes it
the same message. Only a keyed hash of a code ever enters Temporal; the caller hashes what the
citizen typed with the same secret and the workflow compares hashes.

Contacts are keyed the same way (`contact_key`, `range_key`): registration ids and the code-send
budgets in the store name a contact by its keyed digest, never by its number or address.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from registration.checks import CYRILLIC, DIGITS, Problems, capitalized, strictly
from registration.contact import Channel, Contact

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SMS_CODE_DIGITS = 6
EMAIL_TOKEN_CHARS = 26  # 130 bits: a link token must not be guessable
LETTER_CODE_CHARS = 10  # DOMAIN.md: 10 characters of Crockford base32
RANGE_HIDDEN_DIGITS = 4
"""A phone's number range is its number without this many last digits (10,000 numbers)."""


class Purpose(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    PASSWORD = "password"
    """The token of a one-time link to set the password (registrations made at a counter)."""


def _mac(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()


def derive_code(secret: bytes, registration_id: str, purpose: Purpose, sequence: int) -> str:
    """The code number `sequence` of this registration for this purpose; stable across retries."""
    digest = _mac(secret, "derive", registration_id, purpose, str(sequence))
    number = int.from_bytes(digest, "big")
    if purpose is Purpose.SMS:
        return str(number % 10**SMS_CODE_DIGITS).zfill(SMS_CODE_DIGITS)
    length = LETTER_CODE_CHARS if purpose is Purpose.LETTER else EMAIL_TOKEN_CHARS
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(CROCKFORD[index])
    return "".join(chars)


def normalize_code(purpose: Purpose, code: str) -> str:
    """What the citizen typed, in canonical form: Crockford base32 forgives case, spaces,
    hyphens and the look-alikes I/L (1) and O (0)."""
    cleaned = code.strip().replace(" ", "").replace("-", "")
    if purpose is Purpose.SMS:
        return cleaned
    return cleaned.upper().translate(str.maketrans("ILO", "110"))


def hash_code(secret: bytes, registration_id: str, purpose: Purpose, code: str) -> str:
    """Keyed hash of a code, bound to its registration and purpose (hex, 64 characters)."""
    canonical = normalize_code(purpose, code)
    return _mac(secret, "hash", registration_id, purpose, canonical).hex()


def is_code_hash(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def contact_key(secret: bytes, contact: Contact) -> str:
    """Keyed digest of a contact (hex, 64 characters): the same for every registration of one
    phone, or of one e-mail address however it is capitalised; neither readable back nor
    guessable without the secret. Registration ids are built from it."""
    address = contact.address.lower() if contact.channel is Channel.EMAIL else contact.address
    return _mac(secret, "registration", contact.channel, address).hex()


def range_key(secret: bytes, contact: Contact) -> str | None:
    """Keyed digest of a phone's number range (the number without its last
    `RANGE_HIDDEN_DIGITS` digits), keyed like `contact_key` but never equal to one; None for
    an e-mail address."""
    if contact.channel is not Channel.SMS:
        return None
    prefix = contact.address[:-RANGE_HIDDEN_DIGITS]
    return _mac(secret, "range", contact.channel, prefix).hex()


_CODE_LABELS = {
    Purpose.SMS: ("the SMS code", SMS_CODE_DIGITS, "digits"),
    Purpose.EMAIL: ("the e-mail confirmation code", EMAIL_TOKEN_CHARS, "characters"),
    Purpose.LETTER: ("the code from the letter", LETTER_CODE_CHARS, "characters"),
    Purpose.PASSWORD: ("the link's token", EMAIL_TOKEN_CHARS, "characters"),
}


def _code(problems: Problems, purpose: Purpose, raw: str, field: str) -> str:
    label, length, unit = _CODE_LABELS[purpose]
    if purpose is Purpose.SMS:
        code, alphabet, allowed = raw.strip(), DIGITS, "digits"
    else:
        code, alphabet = normalize_code(purpose, raw), CROCKFORD
        allowed = "Latin letters and digits, except U"
    if not code:
        problems.add(field, "code.required", f"Enter {label}")
        return code
    # A Russian keyboard layout is the likeliest cause of a foreign letter: say so.
    cyrillic = purpose is not Purpose.SMS and any(c in CYRILLIC for c in code)
    if cyrillic:
        problems.add(
            field,
            "code.cyrillic_letters",
            f"{capitalized(label)} is typed in Latin letters: switch the keyboard to English",
        )
    if any(c not in alphabet and not (cyrillic and c in CYRILLIC) for c in code):
        problems.add(
            field, "code.invalid_characters", f"{capitalized(label)} may contain only {allowed}"
        )
    if len(code) != length:
        problems.add(field, "code.length", f"{capitalized(label)} must be exactly {length} {unit}")
    return code


def validate_code_input(purpose: Purpose, code: str, field: str = "code") -> str:
    """A code as the citizen typed it, normalised for hashing: an SMS code is exactly 6 digits
    (surrounding spaces trimmed); e-mail and password-link tokens (26) and letter codes (10)
    are Crockford base32, forgiving case, spaces, hyphens and I/L/O (see `normalize_code`)."""
    return strictly(_code, purpose, code, field)
