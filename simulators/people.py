"""People the simulators verify without a scripted failure (see `simulators.rules`): for the
demo and the benchmark, which need citizens whose checks simply pass."""

from __future__ import annotations

import random
from datetime import date

from registration.documents import format_snils, snils_check_digits
from registration.person import Gender, Profile
from simulators.rules import MISMATCH_SUFFIX, NOT_FOUND_SUFFIX, SILENT_SUFFIX

SCRIPTED_ENDINGS = (MISMATCH_SUFFIX, SILENT_SUFFIX, NOT_FOUND_SUFFIX)


def random_snils_body() -> str:
    """Nine SNILS digits (check digits not included) that no simulator scripts a failure for."""
    while True:
        body = f"{random.randint(2_000_000, 999_999_998):09d}"
        if not body.endswith(SCRIPTED_ENDINGS):
            return body


def random_passport_number() -> str:
    while True:
        number = f"{random.randint(100_000, 999_998):06d}"
        if not number.endswith(SCRIPTED_ENDINGS):
            return number


def verifiable_profile(snils_body: str, passport_number: str) -> Profile:
    """A complete, valid profile that the simulated agencies confirm."""
    return Profile(
        surname="Иванова",
        name="Мария",
        patronymic="Петровна",
        gender=Gender.FEMALE,
        birth_date=date(1990, 5, 15),
        birth_place="г. Москва",
        citizenship="RUS",
        passport_series="4512",
        passport_number=passport_number,
        passport_issue_date=date(2010, 6, 1),
        passport_issuer="ОВД Тверской район г. Москвы",
        division_code="770-001",
        snils=format_snils(snils_body + snils_check_digits(snils_body)),
    )
