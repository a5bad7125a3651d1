"""Every rule a citizen's input must pass, as pure functions.

Each public function either returns the value in its normalised (stored) form or raises
`InvalidInput` listing *every* rule the input breaks, each as a `FieldError` with the field's
dotted path, a stable machine `code` (`<subject>.<rule>`) and the exact message the portal
shows to the citizen. No I/O and no clock ("today" is a parameter), so workflows can call these
from update validators inside Temporal's sandbox.
"""

from __future__ import annotations

import calendar
import re
import string
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

from registration.codes import (
    CROCKFORD,
    EMAIL_TOKEN_CHARS,
    LETTER_CODE_CHARS,
    SMS_CODE_DIGITS,
    Purpose,
    normalize_code,
)
from registration.errors import FieldError, InvalidInput
from registration.models import Channel, Contact, Person, PostalAddress, Profile

P = ParamSpec("P")
T = TypeVar("T")

DIGITS = "0123456789"
CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")
LATIN = frozenset(string.ascii_letters)
NAME_SEPARATORS = frozenset(" -'")
# Phones auto-correct ' into typographic apostrophes; a name means the same with either.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})

NAME_MAX = 100
TEXT_MAX = 200
ISSUER_MAX = 250
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 128
PERSONAL_FRAGMENT_MIN = 3  # shorter names ("Ли") would reject half of all passwords
PHONE_FRAGMENT_DIGITS = 7  # the subscriber number: known to anyone who has the phone number
MIN_PASSPORT_AGE = 14  # a Russian passport is issued from 14
MAX_AGE = 120
CURRENT_PASSPORT_SINCE = date(1997, 10, 1)  # the current Russian passport format
SNILS_CHECKED_ABOVE = 1_001_998  # PFR: the check digits are defined above 001-001-998

SNILS_PATTERN = re.compile(r"[0-9]{3}-[0-9]{3}-[0-9]{3} [0-9]{2}|[0-9]{11}")
DIVISION_CODE_PATTERN = re.compile(r"([0-9]{3})-?([0-9]{3})")

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

_NAME_LABELS = {"surname": "Surname", "name": "First name", "patronymic": "Patronymic"}
_CODE_LABELS = {
    Purpose.SMS: ("the SMS code", SMS_CODE_DIGITS, "digits"),
    Purpose.EMAIL: ("the e-mail confirmation code", EMAIL_TOKEN_CHARS, "characters"),
    Purpose.LETTER: ("the code from the letter", LETTER_CODE_CHARS, "characters"),
}


class _Problems:
    """Every rule broken by one input, collected so the citizen hears about all of them."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field=field, code=code, message=message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def _strictly(
    check: Callable[Concatenate[_Problems, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run one collecting check on its own and raise what it found."""
    problems = _Problems()
    value = check(problems, *args, **kwargs)
    problems.raise_if_any()
    return value


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _subject(field: str) -> str:
    return field.rsplit(".", 1)[-1]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(problems: _Problems, value: str, field: str, label: str, max_len: int) -> str:
    """A required free-text field, whitespace normalised."""
    text = _collapse(value)
    subject = _subject(field)
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
    return _strictly(_text, value, field, label, max_len)


def _optional_text(
    problems: _Problems, value: str | None, field: str, label: str, max_len: int
) -> str | None:
    if value is None or not value.strip():
        return None
    return _text(problems, value, field, label, max_len)


# --- contact -----------------------------------------------------------------------------------


def _phone(problems: _Problems, raw: str, field: str) -> str:
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
    return _strictly(_phone, raw, field)


def _is_domain_label(label: str) -> bool:
    return (
        bool(label)
        and len(label) <= 63
        and all(c.isalnum() or c == "-" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def _email(problems: _Problems, raw: str, field: str) -> str:
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
        return domain.lower()  # not a valid IDN: `_email` has refused it already


def normalize_email(raw: str, field: str = "email") -> str:
    """An e-mail address, trimmed, in its canonical form: the domain as IDNA reads it
    (lower-cased, full-width letters and A-labels mapped: ｍａｉｌ.ru and mail.ru are one), the
    local part NFKC-normalised but kept in its case (strictly, it is case-sensitive). Cyrillic
    domains (почта.рф) are accepted."""
    return _strictly(_email, raw, field)


# --- the person --------------------------------------------------------------------------------


def _person_name(problems: _Problems, value: str, field: str) -> str:
    subject = _subject(field)
    label = _NAME_LABELS.get(subject, _capitalized(subject.replace("_", " ")))
    text = _collapse(value.translate(APOSTROPHES))
    if not text:
        problems.add(field, "person_name.required", f"{label} is required")
        return text
    if len(text) > NAME_MAX:
        problems.add(
            field, "person_name.too_long", f"{label} must be at most {NAME_MAX} characters"
        )
    if any(c not in CYRILLIC and c not in LATIN and c not in NAME_SEPARATORS for c in text):
        problems.add(
            field,
            "person_name.invalid_characters",
            f"{label} may contain only letters, spaces, hyphens and apostrophes",
        )
    if any(c in CYRILLIC for c in text) and any(c in LATIN for c in text):
        problems.add(
            field,
            "person_name.mixed_alphabets",
            f"{label} must be written in one alphabet, Cyrillic or Latin, not a mix of both",
        )
    if text[0] not in CYRILLIC and text[0] not in LATIN:
        problems.add(field, "person_name.first_not_letter", f"{label} must start with a letter")
    return text


def validate_person_name(value: str, field: str) -> str:
    """A surname, first name or patronymic: trimmed, inner whitespace collapsed, typographic
    apostrophes made plain. `field` ("surname", "name", "patronymic", or a dotted path ending
    in one of them) names the field in errors and picks the label of the message."""
    return _strictly(_person_name, value, field)


def validate_registration_start(
    surname: str, name: str, phone: str | None, email: str | None
) -> tuple[Person, Contact]:
    """Stage 1 input. Either contact may be missing (None or blank), not both; when both are
    given both must be valid, and the phone becomes the contact channel (codes go by SMS)."""
    problems = _Problems()
    person = Person(
        surname=_person_name(problems, surname, "surname"),
        name=_person_name(problems, name, "name"),
    )
    contacts = []
    if phone and phone.strip():
        contacts.append(Contact(channel=Channel.SMS, address=_phone(problems, phone, "phone")))
    if email and email.strip():
        contacts.append(Contact(channel=Channel.EMAIL, address=_email(problems, email, "email")))
    if not contacts:
        problems.add(
            "contact", "contact.required", "Enter a mobile phone number or an e-mail address"
        )
    problems.raise_if_any()
    return person, contacts[0]  # the phone when both are given: codes then go by SMS


# --- password ----------------------------------------------------------------------------------


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
    problems = _Problems()

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
        personal = _collapse(value or "").casefold()
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


# --- SNILS -------------------------------------------------------------------------------------


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


def _snils(problems: _Problems, raw: str, field: str) -> str:
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
    return _strictly(_snils, raw, field)


# --- profile -----------------------------------------------------------------------------------


def _plus_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February falls on 28 February in a common year (the
    last day of that month, as the Civil Code counts terms)."""
    year = day.year + years
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _document_digits(problems: _Problems, value: str, field: str, label: str, length: int) -> str:
    text = value.strip()
    subject = _subject(field)
    if any(c.isspace() for c in text):
        problems.add(field, f"{subject}.spaces", f"{label} must be {length} digits without spaces")
    elif len(text) != length or any(c not in DIGITS for c in text):
        problems.add(field, f"{subject}.format", f"{label} must be exactly {length} digits")
    return text


def _birth_date(problems: _Problems, birth: date, today: date) -> date:
    if birth > today:
        problems.add("birth_date", "birth_date.in_future", "Date of birth cannot be in the future")
    elif today < _plus_years(birth, MIN_PASSPORT_AGE):
        problems.add(
            "birth_date",
            "birth_date.too_young",
            f"You must be at least {MIN_PASSPORT_AGE} years old",
        )
    elif today >= _plus_years(birth, MAX_AGE + 1):
        problems.add("birth_date", "birth_date.too_old", f"Age cannot be over {MAX_AGE} years")
    return birth


def _issue_date(problems: _Problems, issued: date, birth: date, today: date) -> date:
    field = "passport_issue_date"
    if issued > today:
        problems.add(field, f"{field}.in_future", "Passport issue date cannot be in the future")
    # With a birth date in the future the birthday rule would only repeat that error.
    if birth <= today and issued < _plus_years(birth, MIN_PASSPORT_AGE):
        problems.add(
            field,
            f"{field}.before_14",
            f"Passport issue date cannot be before your {MIN_PASSPORT_AGE}th birthday",
        )
    if issued < CURRENT_PASSPORT_SINCE:
        problems.add(
            field,
            f"{field}.before_1997",
            "Passport issue date cannot be before 1 October 1997, "
            "when the current Russian passport was introduced",
        )
    return issued


def _citizenship(problems: _Problems, value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or any(c not in string.ascii_uppercase for c in code):
        problems.add(
            "citizenship",
            "citizenship.format",
            "Citizenship must be a 3-letter country code (ISO 3166-1 alpha-3), such as RUS",
        )
    elif code != "RUS":
        problems.add(
            "citizenship",
            "citizenship.not_russian",
            "Only citizens of Russia (RUS) can be verified with a Russian passport",
        )
    return code


def _division_code(problems: _Problems, value: str) -> str:
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


def validate_profile(profile: Profile, today: date) -> Profile:
    """A normalised copy of the profile, or every rule it breaks. Names as in
    `validate_person_name` (a blank patronymic becomes None); age 14 to 120 on `today`; place
    of birth and issuer trimmed; citizenship upper-cased and only RUS; passport series 4 and
    number 6 digits without spaces, issued in the current format (from 1 October 1997), from
    the 14th birthday, not in the future; division code as NNN-NNN; SNILS as 11 digits."""
    problems = _Problems()
    patronymic = profile.patronymic
    # In the order of the form, so the citizen reads the errors top to bottom.
    update: dict[str, Any] = {
        "surname": _person_name(problems, profile.surname, "surname"),
        "name": _person_name(problems, profile.name, "name"),
        "patronymic": (
            _person_name(problems, patronymic, "patronymic")
            if patronymic is not None and patronymic.strip()
            else None
        ),
        "birth_date": _birth_date(problems, profile.birth_date, today),
        "birth_place": _text(
            problems, profile.birth_place, "birth_place", "Place of birth", TEXT_MAX
        ),
        "citizenship": _citizenship(problems, profile.citizenship),
        "passport_series": _document_digits(
            problems, profile.passport_series, "passport_series", "Passport series", 4
        ),
        "passport_number": _document_digits(
            problems, profile.passport_number, "passport_number", "Passport number", 6
        ),
        "passport_issue_date": _issue_date(
            problems, profile.passport_issue_date, profile.birth_date, today
        ),
        "passport_issuer": _text(
            problems,
            profile.passport_issuer,
            "passport_issuer",
            "Passport issuing authority",
            ISSUER_MAX,
        ),
        "division_code": _division_code(problems, profile.division_code),
        "snils": _snils(problems, profile.snils, "snils"),
    }
    problems.raise_if_any()
    return profile.model_copy(update=update)


# --- postal address ----------------------------------------------------------------------------


def normalize_postal_address(address: PostalAddress, field: str = "address") -> PostalAddress:
    """The address a registered letter goes to: a 6-digit postcode and non-empty region, city,
    street and house (at most 200 characters each, whitespace normalised); the apartment is
    optional (blank becomes None). Errors name `<field>.<part>`, e.g. "address.postcode"."""
    problems = _Problems()
    postcode = address.postcode.strip()
    if len(postcode) != 6 or any(c not in DIGITS for c in postcode):
        problems.add(f"{field}.postcode", "postcode.format", "Postcode must be 6 digits")
    parts = (("region", "Region"), ("city", "City"), ("street", "Street"), ("house", "House"))
    update: dict[str, Any] = {
        part: _text(problems, getattr(address, part), f"{field}.{part}", label, TEXT_MAX)
        for part, label in parts
    }
    update["postcode"] = postcode
    update["apartment"] = _optional_text(
        problems, address.apartment, f"{field}.apartment", "Apartment", TEXT_MAX
    )
    problems.raise_if_any()
    return address.model_copy(update=update)


# --- one-time codes ----------------------------------------------------------------------------


def _code(problems: _Problems, purpose: Purpose, raw: str, field: str) -> str:
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
            f"{_capitalized(label)} is typed in Latin letters: switch the keyboard to English",
        )
    if any(c not in alphabet and not (cyrillic and c in CYRILLIC) for c in code):
        problems.add(
            field, "code.invalid_characters", f"{_capitalized(label)} may contain only {allowed}"
        )
    if len(code) != length:
        problems.add(field, "code.length", f"{_capitalized(label)} must be exactly {length} {unit}")
    return code


def validate_code_input(purpose: Purpose, code: str, field: str = "code") -> str:
    """A code as the citizen typed it, normalised for hashing: an SMS code is exactly 6 digits
    (surrounding spaces trimmed); e-mail tokens (26) and letter codes (10) are Crockford base32,
    forgiving case, spaces, hyphens and I/L/O (see `registration.codes.normalize_code`)."""
    return _strictly(_code, purpose, code, field)


# --- comparing documents and names -------------------------------------------------------------


def _without_separators(value: str) -> str:
    return "".join(c for c in value if not c.isspace() and c != "-")


def same_person_documents(
    profile: Profile, passport_series: str, passport_number: str, snils: str
) -> list[str]:
    """The profile fields ("passport_series", "passport_number", "snils") that the documents
    a clerk or a bank saw do not match. Spaces and hyphens are ignored; a SNILS that cannot be
    read (or whose check digits fail) counts as a mismatch. Never raises."""
    mismatches: list[str] = []
    for field, seen, known in (
        ("passport_series", passport_series, profile.passport_series),
        ("passport_number", passport_number, profile.passport_number),
    ):
        if _without_separators(seen) != _without_separators(known):
            mismatches.append(field)
    problems = _Problems()
    seen_snils = _snils(problems, _without_separators(snils), "snils")
    if problems.errors or seen_snils != _without_separators(profile.snils):
        mismatches.append("snils")
    return mismatches


def _comparable_name(value: str) -> str:
    return _collapse(value.translate(APOSTROPHES)).casefold().replace("ё", "е")


def names_match(a: str, b: str) -> bool:
    """Whether two spellings are the same name: case, whitespace, Ё/Е and typographic
    apostrophes aside (certificates and banks often write Е for Ё)."""
    return _comparable_name(a) == _comparable_name(b)
