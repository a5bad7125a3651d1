"""The person: the name given at the start, the profile the agencies check, and the rules
both must pass (names, birth date, passport, citizenship); whether two names are the same."""

from __future__ import annotations

import calendar
import string
from datetime import date
from enum import StrEnum
from typing import Any

from registration.base import Model
from registration.checks import (
    APOSTROPHES,
    CYRILLIC,
    LATIN,
    NAME_SEPARATORS,
    TEXT_MAX,
    Problems,
    capitalized,
    collapse,
    required_text,
    strictly,
    subject_of,
)
from registration.contact import Channel, Contact, check_email, check_phone
from registration.documents import check_division_code, check_document_digits, check_snils


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Person(Model):
    surname: str
    name: str


class Profile(Model):
    """The profile as the passport shows it; fields are stored normalised (see validators)."""

    surname: str
    name: str
    patronymic: str | None = None
    gender: Gender
    birth_date: date
    birth_place: str
    citizenship: str = "RUS"
    passport_series: str
    passport_number: str
    passport_issue_date: date
    passport_issuer: str
    division_code: str
    snils: str


NAME_MAX = 100


ISSUER_MAX = 250


MIN_PASSPORT_AGE = 14  # a Russian passport is issued from 14


MAX_AGE = 120


CURRENT_PASSPORT_SINCE = date(1997, 10, 1)  # the current Russian passport format


_NAME_LABELS = {"surname": "Surname", "name": "First name", "patronymic": "Patronymic"}


def check_person_name(problems: Problems, value: str, field: str) -> str:
    subject = subject_of(field)
    label = _NAME_LABELS.get(subject, capitalized(subject.replace("_", " ")))
    text = collapse(value.translate(APOSTROPHES))
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
    return strictly(check_person_name, value, field)


def validate_registration_start(
    surname: str, name: str, phone: str | None, email: str | None
) -> tuple[Person, Contact]:
    """Stage 1 input. Either contact may be missing (None or blank), not both; when both are
    given both must be valid, and the phone becomes the contact channel (codes go by SMS)."""
    problems = Problems()
    person = Person(
        surname=check_person_name(problems, surname, "surname"),
        name=check_person_name(problems, name, "name"),
    )
    contacts = []
    if phone and phone.strip():
        contacts.append(Contact(channel=Channel.SMS, address=check_phone(problems, phone, "phone")))
    if email and email.strip():
        contacts.append(
            Contact(channel=Channel.EMAIL, address=check_email(problems, email, "email"))
        )
    if not contacts:
        problems.add(
            "contact", "contact.required", "Enter a mobile phone number or an e-mail address"
        )
    problems.raise_if_any()
    return person, contacts[0]  # the phone when both are given: codes then go by SMS


def _plus_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February falls on 28 February in a common year (the
    last day of that month, as the Civil Code counts terms)."""
    year = day.year + years
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _birth_date(problems: Problems, birth: date, today: date) -> date:
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


def _issue_date(problems: Problems, issued: date, birth: date, today: date) -> date:
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


def _citizenship(problems: Problems, value: str) -> str:
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


def validate_profile(profile: Profile, today: date) -> Profile:
    """A normalised copy of the profile, or every rule it breaks. Names as in
    `validate_person_name` (a blank patronymic becomes None); age 14 to 120 on `today`; place
    of birth and issuer trimmed; citizenship upper-cased and only RUS; passport series 4 and
    number 6 digits without spaces, issued in the current format (from 1 October 1997), from
    the 14th birthday, not in the future; division code as NNN-NNN; SNILS as 11 digits."""
    problems = Problems()
    patronymic = profile.patronymic
    # In the order of the form, so the citizen reads the errors top to bottom.
    update: dict[str, Any] = {
        "surname": check_person_name(problems, profile.surname, "surname"),
        "name": check_person_name(problems, profile.name, "name"),
        "patronymic": (
            check_person_name(problems, patronymic, "patronymic")
            if patronymic is not None and patronymic.strip()
            else None
        ),
        "birth_date": _birth_date(problems, profile.birth_date, today),
        "birth_place": required_text(
            problems, profile.birth_place, "birth_place", "Place of birth", TEXT_MAX
        ),
        "citizenship": _citizenship(problems, profile.citizenship),
        "passport_series": check_document_digits(
            problems, profile.passport_series, "passport_series", "Passport series", 4
        ),
        "passport_number": check_document_digits(
            problems, profile.passport_number, "passport_number", "Passport number", 6
        ),
        "passport_issue_date": _issue_date(
            problems, profile.passport_issue_date, profile.birth_date, today
        ),
        "passport_issuer": required_text(
            problems,
            profile.passport_issuer,
            "passport_issuer",
            "Passport issuing authority",
            ISSUER_MAX,
        ),
        "division_code": check_division_code(problems, profile.division_code),
        "snils": check_snils(problems, profile.snils, "snils"),
    }
    problems.raise_if_any()
    return profile.model_copy(update=update)


def _comparable_name(value: str) -> str:
    return collapse(value.translate(APOSTROPHES)).casefold().replace("ё", "е")


def names_match(a: str, b: str) -> bool:
    """Whether two spellings are the same name: case, whitespace, Ё/Е and typographic
    apostrophes aside (certificates and banks often write Е for Ё)."""
    return _comparable_name(a) == _comparable_name(b)
