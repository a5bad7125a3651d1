"""Test people and places, shared by the workflow, integration and API tests."""

from __future__ import annotations

import uuid
from datetime import date

from registration.address import PostalAddress
from registration.person import Gender, Profile

PROFILE = Profile(
    surname="Иванова",
    name="Мария",
    patronymic="Петровна",
    gender=Gender.FEMALE,
    birth_date=date(1990, 5, 15),
    birth_place="г. Москва",
    citizenship="RUS",
    passport_series="4512",
    passport_number="345678",
    passport_issue_date=date(2010, 6, 1),
    passport_issuer="ОВД Тверской район г. Москвы",
    division_code="770-001",
    snils="112-233-445 95",
)
ADDRESS = PostalAddress(
    postcode="101000",
    region="Москва",
    city="Москва",
    street="ул. Мясницкая",
    house="1",
    apartment="5",
)
BANK_IDENTITY = {
    "surname": PROFILE.surname,
    "name": PROFILE.name,
    "patronymic": PROFILE.patronymic,
    "birth_date": PROFILE.birth_date.isoformat(),
    "snils": PROFILE.snils,
    "passport_series": PROFILE.passport_series,
    "passport_number": PROFILE.passport_number,
}
"""What a bank vouches for, for `PROFILE`: the body of a bank confirmation."""

STACK_CODE_SECRET = "stack-code-secret"
"""The session stack's code secret (tests/conftest.py), which keys contacts in the store."""


def new_phone() -> str:
    """A mobile number no other test uses."""
    return f"+79{uuid.uuid4().int % 10**9:09d}"
