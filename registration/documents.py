"""Identity documents: SNILS with its check digits, passport numbers and division codes, and
whether two sets of documents are the same person's."""

from __future__ import annotations

import re

from registration.checks import DIGITS, Problems, strictly, subject_of

SNILS_CHECKED_ABOVE = 1_001_998  # PFR: the check digits are defined above 001-001-998


SNILS_PATTERN = re.compile(r"[0-9]{3}-[0-9]{3}-[0-9]{3} [0-9]{2}|[0-9]{11}")


DIVISION_CODE_PATTERN = re.compile(r"([0-9]{3})-?([0-9]{3})")


def snils_check_digits(body9: str) -> str:
    """The two check digits of a SNILS body (its first 9 digits), by the public PFR rule.
    Raises ValueError if `body9` is not 9 digits (a programming error, not citizen input)."""
    if len(body9) != 9 or any(c not in DIGITS for c in body9):
        raise ValueError("a SNILS body is 9 digits")
    total = sum(int(d) * (9 - i) for i, d in enumerate(body9))
    if total < 100:
        check = total
    elif total <= 101:
        check = 0
    else:
        check = total % 101 % 100  # a remainder of 100 is written as 00
    return f"{check:02d}"


def format_snils(digits11: str) -> str:
    """11 SNILS digits as printed on the card: NNN-NNN-NNN NN."""
    if len(digits11) != 11 or any(c not in DIGITS for c in digits11):
        raise ValueError("a SNILS is 11 digits")
    d = digits11
    return f"{d[:3]}-{d[3:6]}-{d[6:9]} {d[9:]}"


def check_snils(problems: Problems, raw: str, field: str) -> str:
    text = raw.strip()
    if not text:
        problems.add(field, "snils.required", "SNILS is required")
        return text
    if not SNILS_PATTERN.fullmatch(text):
        problems.add(
            field, "snils.format", "SNILS must be 11 digits, as NNN-NNN-NNN NN or without spaces"
        )
        return text
    digits = "".join(c for c in text if c in DIGITS)
    body, check = digits[:9], digits[9:]
    if int(body) > SNILS_CHECKED_ABOVE and snils_check_digits(body) != check:
        problems.add(field, "snils.checksum", "SNILS check digits do not match")
    return digits


def normalize_snils(raw: str, field: str = "snils") -> str:
    """A SNILS typed as NNN-NNN-NNN NN or as 11 digits, returned as 11 digits once its check
    digits match (numbers up to 001-001-998 have none to check)."""
    return strictly(check_snils, raw, field)


def check_document_digits(
    problems: Problems, value: str, field: str, label: str, length: int
) -> str:
    text = value.strip()
    subject = subject_of(field)
    if any(c.isspace() for c in text):
        problems.add(field, f"{subject}.spaces", f"{label} must be {length} digits without spaces")
    elif len(text) != length or any(c not in DIGITS for c in text):
        problems.add(field, f"{subject}.format", f"{label} must be exactly {length} digits")
    return text


def check_division_code(problems: Problems, value: str) -> str:
    text = value.strip()
    match = DIVISION_CODE_PATTERN.fullmatch(text)
    if match is None:
        problems.add(
            "division_code",
            "division_code.format",
            "Division code must be 6 digits in the form NNN-NNN",
        )
        return text
    return f"{match[1]}-{match[2]}"
