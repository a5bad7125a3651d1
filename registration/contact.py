"""A citizen's contact, a mobile phone or an e-mail address, and the rules it must pass."""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from registration.base import Model
from registration.checks import DIGITS, Problems, strictly


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Contact(Model):
    """A confirmed-or-to-be-confirmed contact: `+7XXXXXXXXXX` for SMS, an address for e-mail."""

    channel: Channel
    address: str


EMAIL_MAX = 254


EMAIL_LOCAL_MAX = 64


def check_phone(problems: Problems, raw: str, field: str) -> str:
    text = raw.strip()
    if not text:
        problems.add(field, "phone.required", "Phone number is required")
        return text
    has_plus = text.startswith("+")
    body = text[1:] if has_plus else text
    if any(c not in DIGITS and c not in " -()" for c in body):
        problems.add(
            field,
            "phone.invalid_characters",
            "Phone number may contain only digits, spaces, hyphens and parentheses",
        )
    digits = "".join(c for c in body if c in DIGITS)
    national: str | None = digits[1:]
    if has_plus and not digits.startswith("7"):
        problems.add(field, "phone.country_code", "Phone number must start with +7")
        national = None  # with a foreign country code, where the number starts is unknown
    elif not has_plus and digits.startswith("8"):
        problems.add(field, "phone.leading_8", "Phone number must start with +7, not 8")
    elif not has_plus and digits.startswith("7"):
        problems.add(field, "phone.missing_plus", "Phone number must start with +7, not 7")
    elif not has_plus:
        problems.add(field, "phone.country_code", "Phone number must start with +7")
        national = digits
    if national is not None and len(national) != 10:
        problems.add(field, "phone.length", "Phone number must have 10 digits after +7")
    if national and national[0] != "9":
        problems.add(
            field,
            "phone.not_mobile",
            "Phone number must be a mobile number: the first digit after +7 must be 9",
        )
    return f"+7{national or ''}"


def normalize_phone(raw: str, field: str = "phone") -> str:
    """A Russian mobile number as `+7XXXXXXXXXX`. Spaces, hyphens and parentheses are allowed
    ("+7 (912) 345-67-89"); a leading 8 or 7 without + is refused, as the portal does."""
    return strictly(check_phone, raw, field)


def _is_domain_label(label: str) -> bool:
    return (
        bool(label)
        and len(label) <= 63
        and all(c.isalnum() or c == "-" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def check_email(problems: Problems, raw: str, field: str) -> str:
    text = raw.strip()
    if not text:
        problems.add(field, "email.required", "E-mail address is required")
        return text
    if any(c.isspace() for c in text):
        problems.add(field, "email.spaces", "E-mail address must not contain spaces")
    elif not text.isprintable():
        problems.add(
            field, "email.invalid_characters", "E-mail address must not contain control characters"
        )
    if len(text) > EMAIL_MAX:
        problems.add(
            field, "email.too_long", f"E-mail address must be at most {EMAIL_MAX} characters"
        )
    if text.count("@") != 1:
        problems.add(field, "email.at_sign", "E-mail address must contain exactly one @")
        return text
    local, domain = text.split("@")
    if not local:
        problems.add(field, "email.local_part_missing", "E-mail address must have a name before @")
    elif len(local) > EMAIL_LOCAL_MAX:
        problems.add(
            field,
            "email.local_part_too_long",
            f"The part of the e-mail address before @ must be at most {EMAIL_LOCAL_MAX} characters",
        )
    labels = domain.split(".")
    if (
        len(labels) < 2
        or not all(_is_domain_label(label) for label in labels)
        or not any(c.isalpha() for c in labels[-1])
    ):
        problems.add(
            field,
            "email.domain",
            "The part of the e-mail address after @ must be a domain such as mail.ru",
        )
    return f"{unicodedata.normalize('NFKC', local)}@{_canonical_domain(domain)}"


def _canonical_domain(domain: str) -> str:
    """The one spelling of a domain that every spelling of it delivers to: IDNA maps full-width
    letters, letter case and the A-label (xn--…) onto the same name, kept readable (почта.рф).
    Without it, one mailbox is many contacts, each with its own code budget."""
    try:
        return domain.lower().encode("idna").decode("idna").lower()
    except UnicodeError:
        return domain.lower()  # not a valid IDN: `check_email` has refused it already


def normalize_email(raw: str, field: str = "email") -> str:
    """An e-mail address, trimmed, in its canonical form: the domain as IDNA reads it
    (lower-cased, full-width letters and A-labels mapped: ｍａｉｌ.ru and mail.ru are one), the
    local part NFKC-normalised but kept in its case (strictly, it is case-sensitive). Cyrillic
    domains (почта.рф) are accepted."""
    return strictly(check_email, raw, field)
