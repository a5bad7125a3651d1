"""Is it the same person? What a clerk read, what a bank vouches for, or what a certificate
names, held against the verified profile.

Each judge returns the profile fields that differ, in a fixed order (empty: the same person).
Who may be told which fields is the workflow's decision, not these functions'. Pure: no I/O,
never raises.
"""

from __future__ import annotations

from registration.activity_messages import SignatureCheck
from registration.checks import Problems
from registration.documents import check_snils
from registration.messages import BankConfirmation, ClerkConfirmation
from registration.person import Profile, names_match


def compare_documents(profile: Profile, seen: ClerkConfirmation) -> list[str]:
    """The documents a clerk read that do not match: passport series, number, SNILS."""
    return same_person_documents(profile, seen.passport_series, seen.passport_number, seen.snils)


def compare_identity(profile: Profile, vouched: BankConfirmation) -> list[str]:
    """The fields of the identity a bank verified that do not match the profile. A bank that
    sends no patronymic is not contradicting one."""
    mismatched = same_person_documents(
        profile, vouched.passport_series, vouched.passport_number, vouched.snils
    )
    for field, claimed, known in (
        ("surname", vouched.surname, profile.surname),
        ("name", vouched.name, profile.name),
    ):
        if not names_match(claimed, known):
            mismatched.append(field)
    if vouched.patronymic and not names_match(vouched.patronymic, profile.patronymic or ""):
        mismatched.append("patronymic")
    if vouched.birth_date != profile.birth_date:
        mismatched.append("birth_date")
    return mismatched


def compare_certificate(profile: Profile, check: SignatureCheck) -> list[str]:
    """The holder's fields of a (valid) qualified certificate that do not match: SNILS,
    surname, name. The passport is not in a certificate, so it is not compared."""
    mismatched = []
    documents = same_person_documents(
        profile, profile.passport_series, profile.passport_number, check.snils or ""
    )
    if "snils" in documents:
        mismatched.append("snils")
    for field, claimed, known in (
        ("surname", check.surname, profile.surname),
        ("name", check.name, profile.name),
    ):
        if not names_match(claimed or "", known):
            mismatched.append(field)
    return mismatched


def without_separators(value: str) -> str:
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
        if without_separators(seen) != without_separators(known):
            mismatches.append(field)
    problems = Problems()
    seen_snils = check_snils(problems, without_separators(snils), "snils")
    if problems.errors or seen_snils != without_separators(profile.snils):
        mismatches.append("snils")
    return mismatches
