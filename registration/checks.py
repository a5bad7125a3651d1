"""How the input rules are written, and the rules every text field shares.

Each public rule either returns the value in its normalised (stored) form or raises
`InvalidInput` listing *every* rule the input breaks, each as a `FieldError` with the field's
dotted path, a stable machine `code` (`<subject>.<rule>`) and the exact message the portal
shows to the citizen. A `check_*` function collects into `Problems`; `strictly` runs one on
its own. No I/O and no clock ("today" is a parameter), so workflows can call the rules from
update validators inside Temporal's sandbox.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from registration.errors import FieldError, InvalidInput

P = ParamSpec("P")


T = TypeVar("T")


DIGITS = "0123456789"


CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")


LATIN = frozenset(string.ascii_letters)


NAME_SEPARATORS = frozenset(" -'")


# Phones auto-correct ' into typographic apostrophes; a name means the same with either.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})


TEXT_MAX = 200


class Problems:
    """Every rule broken by one input, collected so the citizen hears about all of them."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field=field, code=code, message=message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def strictly(check: Callable[Concatenate[Problems, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one collecting check on its own and raise what it found."""
    problems = Problems()
    value = check(problems, *args, **kwargs)
    problems.raise_if_any()
    return value


def collapse(value: str) -> str:
    return " ".join(value.split())


def subject_of(field: str) -> str:
    return field.rsplit(".", 1)[-1]


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def required_text(problems: Problems, value: str, field: str, label: str, max_len: int) -> str:
    """A required free-text field, whitespace normalised."""
    text = collapse(value)
    subject = subject_of(field)
    if not text:
        problems.add(field, f"{subject}.required", f"{label} is required")
    elif len(text) > max_len:
        problems.add(field, f"{subject}.too_long", f"{label} must be at most {max_len} characters")
    elif any(unicodedata.category(char) == "Cc" for char in text):
        # NUL and friends: PostgreSQL refuses NUL in text, and no document carries them.
        problems.add(
            field, f"{subject}.invalid_characters", f"{label} must not contain control characters"
        )
    return text


def validate_free_text(value: str, field: str, label: str, max_len: int = TEXT_MAX) -> str:
    """A required free-text value (a reason, a note): trimmed, bounded, no control characters."""
    return strictly(required_text, value, field, label, max_len)


def optional_text(
    problems: Problems, value: str | None, field: str, label: str, max_len: int
) -> str | None:
    if value is None or not value.strip():
        return None
    return required_text(problems, value, field, label, max_len)
