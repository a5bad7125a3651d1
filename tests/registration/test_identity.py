"""The judges of `registration.identity`: which fields of a clerk's, a bank's or a certificate's
account of a person differ from the verified profile."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from registration.activity_messages import SignatureCheck
from registration.identity import compare_certificate, compare_documents, compare_identity
from registration.messages import BankConfirmation, ClerkConfirmation
from registration.person import validate_profile
from tests.data import PROFILE

VERIFIED = validate_profile(PROFILE, date(2026, 1, 1))


def clerk(**changes: Any) -> ClerkConfirmation:
    seen = ClerkConfirmation(
        clerk_id="clerk-7",
        service_center_id="mfc-77-001",
        passport_series="45 12",
        passport_number="345678",
        snils="112-233-445 95",
    )
    return seen.model_copy(update=changes)


def bank(**changes: Any) -> BankConfirmation:
    vouched = BankConfirmation(
        bank_id="sber",
        surname="ИВАНОВА",
        name="мария",
        patronymic="Петровна",
        birth_date=date(1990, 5, 15),
        snils="11223344595",
        passport_series="4512",
        passport_number="345678",
    )
    return vouched.model_copy(update=changes)


def certificate(**changes: Any) -> SignatureCheck:
    check = SignatureCheck(valid=True, snils="112-233-445 95", surname="Иванова", name="Мария")
    return check.model_copy(update=changes)


@pytest.mark.parametrize(
    ("changes", "mismatched"),
    [
        ({}, []),
        ({"passport_number": "345679"}, ["passport_number"]),
        ({"passport_series": "4513", "snils": "112-233-445 96"}, ["passport_series", "snils"]),
        ({"snils": "not a snils"}, ["snils"]),
    ],
)
def test_clerk_documents_are_compared_field_by_field(
    changes: dict[str, str], mismatched: list[str]
) -> None:
    assert compare_documents(VERIFIED, clerk(**changes)) == mismatched


@pytest.mark.parametrize(
    ("changes", "mismatched"),
    [
        ({}, []),
        ({"patronymic": None}, []),
        ({"surname": "Иванова "}, []),
        ({"passport_number": "000000"}, ["passport_number"]),
        ({"name": "Марина", "birth_date": date(1990, 5, 16)}, ["name", "birth_date"]),
        ({"patronymic": "Павловна"}, ["patronymic"]),
        (
            {"surname": "Петрова", "snils": "112-233-445 96", "passport_series": "0000"},
            ["passport_series", "snils", "surname"],
        ),
    ],
)
def test_bank_identity_is_compared_field_by_field(
    changes: dict[str, Any], mismatched: list[str]
) -> None:
    assert compare_identity(VERIFIED, bank(**changes)) == mismatched


@pytest.mark.parametrize(
    ("changes", "mismatched"),
    [
        ({}, []),
        ({"surname": "ИВАНОВА", "name": "мария"}, []),
        ({"surname": "Петрова"}, ["surname"]),
        ({"snils": None, "name": None}, ["snils", "name"]),
    ],
)
def test_certificate_holder_is_compared_field_by_field(
    changes: dict[str, Any], mismatched: list[str]
) -> None:
    assert compare_certificate(VERIFIED, certificate(**changes)) == mismatched
