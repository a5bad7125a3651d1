"""The password rules: length, common and trivial passwords, and passwords made of the
person's own name or contact."""

from __future__ import annotations

import string

from registration.checks import DIGITS, Problems, collapse
from registration.errors import FieldError, InvalidInput

PASSWORD_MIN = 8


PASSWORD_MAX = 128


PERSONAL_FRAGMENT_MIN = 3  # shorter names ("Ли") would reject half of all passwords


PHONE_FRAGMENT_DIGITS = 7  # the subscriber number: known to anyone who has the phone number


COMMON_PASSWORDS = frozenset(
    {
        "password1!",
        "password123!",
        "passw0rd!",
        "p@ssw0rd",
        "p@ssw0rd!",
        "p@ssw0rd1",
        "p@ssword1",
        "p@55w0rd",
        "qwerty123!",
        "qwerty1!",
        "1q2w3e4r!",
        "1q2w3e4r5t!",
        "zaq12wsx!",
        "welcome1!",
        "welcome123!",
        "admin123!",
        "letmein1!",
        "iloveyou1!",
        "sunshine1!",
        "football1!",
        "monkey123!",
        "dragon123!",
        "master123!",
        "changeme1!",
        "trustno1!",
        "parol123!",
        "gosuslugi1!",
        "gosuslugi123!",
    }
)
"""Well-known passwords that pass every character-class rule; compared case-insensitively."""


# Runs of 4+ along these (forwards or backwards) are "trivial": 1234, abcd, qwer, !@#$.
_SEQUENCES = (
    "0123456789",
    "1234567890",
    string.ascii_lowercase,
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "!@#$%^&*()",
)


_RUN = 4


_TRIVIAL_RUNS = frozenset(
    run[i : i + _RUN]
    for sequence in _SEQUENCES
    for run in (sequence, sequence[::-1])
    for i in range(len(run) - _RUN + 1)
)


def _contact_fragment(contact: str) -> tuple[str, str, str] | None:
    """What of the contact a password must not contain: (fragment, code, message)."""
    if "@" in contact:
        local = contact.strip().rsplit("@", 1)[0]
        if len(local) < PERSONAL_FRAGMENT_MIN:
            return None
        return (
            local.casefold(),
            "password.contains_email",
            "Password must not contain the part of your e-mail address before @",
        )
    digits = "".join(c for c in contact if c in DIGITS)
    if len(digits) < PHONE_FRAGMENT_DIGITS:
        return None
    return (
        digits[-PHONE_FRAGMENT_DIGITS:],
        "password.contains_phone",
        "Password must not contain your phone number",
    )


def _has_repeats(text: str) -> bool:
    return any(text[i] == text[i + 1] == text[i + 2] for i in range(len(text) - 2))


def _has_trivial_run(text: str) -> bool:
    return any(text[i : i + _RUN] in _TRIVIAL_RUNS for i in range(len(text) - _RUN + 1))


def validate_password(
    password: str,
    *,
    contact: str | None = None,
    surname: str | None = None,
    name: str | None = None,
) -> None:
    """The password policy: 8-128 printable ASCII characters, no space at either end, upper-
    and lower-case Latin letters, a digit and a special character; not a well-known password,
    no character three times in a row, no run of 4 like 1234/abcd/qwer (either direction), and
    not containing the phone's subscriber number (its last 7 digits), the e-mail's part before
    @, the surname or the name (case-insensitive, when 3 characters or longer)."""
    problems = Problems()

    def broken(code: str, message: str) -> None:
        problems.add("password", code, message)

    if len(password) < PASSWORD_MIN:
        broken("password.too_short", f"Password must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        broken("password.too_long", f"Password must be at most {PASSWORD_MAX} characters")
    if any(not (" " <= c <= "~") for c in password):
        broken(
            "password.invalid_characters",
            "Password may contain only Latin letters, digits, spaces and special characters",
        )
    if password != password.strip(" "):
        broken("password.spaces_at_ends", "Password must not start or end with a space")
    if not any(c in string.ascii_uppercase for c in password):
        broken("password.no_uppercase", "Password must contain an upper-case Latin letter")
    if not any(c in string.ascii_lowercase for c in password):
        broken("password.no_lowercase", "Password must contain a lower-case Latin letter")
    if not any(c in DIGITS for c in password):
        broken("password.no_digit", "Password must contain a digit")
    if not any(c in string.punctuation for c in password):
        broken(
            "password.no_special",
            "Password must contain a special character, such as ! @ # $ % & *",
        )
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        broken("password.common", "This password is too common, choose another one")
    if _has_repeats(folded):
        broken(
            "password.repeated_characters",
            "Password must not contain the same character 3 or more times in a row",
        )
    if _has_trivial_run(folded):
        broken(
            "password.sequence",
            "Password must not contain sequences such as 1234, abcd or qwer",
        )
    fragment = _contact_fragment(contact) if contact else None
    if fragment is not None and fragment[0] in folded:
        broken(fragment[1], fragment[2])
    for value, code, what in (
        (surname, "password.contains_surname", "your surname"),
        (name, "password.contains_name", "your first name"),
    ):
        personal = collapse(value or "").casefold()
        if len(personal) >= PERSONAL_FRAGMENT_MIN and personal in folded:
            broken(code, f"Password must not contain {what}")
    problems.raise_if_any()


def validate_password_confirmation(
    password: str, repeated: str, field: str = "password_confirmation"
) -> None:
    """The password typed the second time must be exactly the first."""
    if password != repeated:
        raise InvalidInput(
            [FieldError(field=field, code="password.mismatch", message="Passwords do not match")]
        )
