"""The console's words: every key the templates and the code look up is in the catalog, every
word in the catalog is used, and every rule a clerk's input can break is said in Russian."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from console import i18n
from console.access import refusal_text
from registration.checks import Problems
from registration.contact import check_email, check_phone
from registration.documents import check_document_digits, check_snils
from registration.errors import InvalidInput, Refusal, StepRefused
from registration.journey import FINAL_STAGES, Agency, RejectionCode, Stage
from registration.password import validate_password
from service.clerk_desk import DIFFERING, DeskWork, Outcome
from service.counter_desk import CounterForm, read_profile
from store.schema import RegistrationStatus

CONSOLE = Path(i18n.__file__).parent
TEMPLATES = sorted((CONSOLE / "templates").glob("*.html"))
CODE = sorted(path for path in CONSOLE.glob("*.py") if path.name != "i18n.py")

LOOKED_UP = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""")
"""`t("key")` or `t("key", …)` in a template."""
FAMILY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+\.)["']\s*~""")
"""`t("prefix." ~ value)` in a template: one key per value."""
LITERAL = re.compile(r"""["']([a-z_]+\.[a-z0-9_.]+)["']""")
"""A string in the console's code that may be a key."""

FAMILIES = {
    "state.": [status.value for status in RegistrationStatus] + ["awaiting"],
    "day.work.": [work.value for work in DeskWork],
    "day.outcome.": [outcome.value for outcome in Outcome if outcome is not Outcome.REFUSED],
    "document.": list(DIFFERING),
    "counter.closed.": [stage.value for stage in FINAL_STAGES if stage is not Stage.CONFIRMED],
}
"""Keys built from a value, with every value the code can give them."""


def template_keys() -> set[str]:
    return {key for path in TEMPLATES for key in LOOKED_UP.findall(path.read_text())}


def code_keys() -> set[str]:
    found = {key for path in CODE for key in LITERAL.findall(path.read_text())}
    sections = {key.split(".")[0] for key in i18n.RU}
    return {key for key in found if key.split(".")[0] in sections and not key.endswith(".html")}


def test_every_key_the_templates_look_up_is_in_the_catalog() -> None:
    keys = template_keys()
    assert len(keys) > 40
    assert sorted(key for key in keys if not i18n.has(key)) == []


def test_every_key_built_from_a_value_is_in_the_catalog() -> None:
    used = {prefix for path in TEMPLATES for prefix in FAMILY.findall(path.read_text())}
    assert used <= set(FAMILIES)
    missing = [prefix + value for prefix, values in FAMILIES.items() for value in values]
    assert [key for key in missing if not i18n.has(key)] == []


def test_every_key_the_code_names_is_in_the_catalog() -> None:
    assert sorted(key for key in code_keys() if not i18n.has(key)) == []


def test_every_word_in_the_catalog_is_used() -> None:
    used = template_keys() | code_keys()
    families = {prefix + value for prefix, values in FAMILIES.items() for value in values}
    # `field_errors`, `refusal_text` (also in a page's own words), `console.counter`
    looked_up_by_code = ("error.", "refusal.", "counter.refusal.", "agency.", "reason.")
    unused = [
        key
        for key in i18n.RU
        if key not in used and key not in families and not key.startswith(looked_up_by_code)
    ]
    assert unused == []


def broken_rules(check: Callable[[Problems, str], object], typed: list[str]) -> set[str]:
    codes = set()
    for value in typed:
        problems = Problems()
        check(problems, value)
        codes |= {error.code for error in problems.errors}
    return codes


def test_every_rule_a_clerks_input_can_break_is_said_in_russian() -> None:
    phones = ["", "8 916 123-45-67", "79161234567", "+1 212", "+7 916", "+7 495 123-45-67", "+7 9a"]
    codes = (
        broken_rules(
            lambda problems, value: check_snils(problems, value, "snils"),
            ["", "1", "112-233-445 96"],
        )
        | broken_rules(lambda problems, value: check_phone(problems, value, "phone"), phones)
        | broken_rules(
            lambda problems, value: check_document_digits(
                problems, value, "passport_series", "", 4
            ),
            ["45 12", "451"],
        )
        | broken_rules(
            lambda problems, value: check_document_digits(
                problems, value, "passport_number", "", 6
            ),
            ["34 5678", "3456"],
        )
    )
    assert len(codes) == 14
    assert sorted(code for code in codes if not i18n.has(f"error.{code}")) == []


def test_every_refusal_is_said_in_russian_with_its_moment() -> None:
    for code in Refusal:
        refused = StepRefused(
            code, "English", details={"locked_until": "2026-11-30T10:00:00+00:00"}
        )
        said = refusal_text(refused, "Europe/Moscow")
        assert "English" not in said and said
    locked = refusal_text(
        StepRefused(Refusal.LOCKED, "", details={"locked_until": "2026-11-30T10:00:00+00:00"}),
        "Europe/Moscow",
    )
    assert locked.endswith("до 30.11.2026 13:00.")


def test_there_is_no_english_word_in_the_catalog() -> None:
    words = {key: re.sub(r"\{[a-z_]+\}", "", value) for key, value in i18n.RU.items()}
    assert {key: said for key, said in words.items() if re.search("[A-Za-z]{2,}", said)} == {}


def test_every_agency_and_reason_of_a_mismatch_is_said_in_russian() -> None:
    assert [agency for agency in Agency if not i18n.has(f"agency.{agency.value}")] == []
    at_profile = [RejectionCode.VERIFICATION_TIMEOUT, RejectionCode.REQUEST_REJECTED]
    reasons = [*at_profile, RejectionCode.MISMATCH, "passport_invalid", "snils_mismatch"]
    assert [reason for reason in reasons if not i18n.has(f"reason.{reason}")] == []


def rules_broken_by_forms(*forms: CounterForm) -> set[str]:
    codes = set()
    for form in forms:
        try:
            read_profile(form, date(2026, 11, 30))
        except InvalidInput as invalid:
            codes |= {error.code for error in invalid.errors}
    return codes


def test_every_rule_the_counter_form_can_break_is_said_in_russian() -> None:
    codes = rules_broken_by_forms(
        CounterForm(),
        CounterForm(
            surname="Ivanova Иванова",
            name="-Мария",
            patronymic="Петровна1",
            gender="male",
            birth_date="31.02.1990",
            birth_place="x" * 300,
            citizenship="RU",
            passport_series="45 1",
            passport_number="12345",
            passport_issue_date="1.1.2030",
            passport_issuer="\x01",
            division_code="77",
            snils="112-233-445 96",
        ),
        CounterForm(
            surname="И" * 101,
            birth_date="2020-01-01",
            citizenship="USA",
            passport_issue_date="1990-01-01",
            passport_issuer="x" * 300,
        ),
        CounterForm(birth_date="01.01.1800", passport_issue_date="01.01.2099"),
        CounterForm(birth_date="01.01.2099", birth_place="\x01"),
    )
    for value in ("a", "a b@x.ru", "ab@", "@x.ru", "a\x01@x.ru", f"{'a' * 65}@x.ru"):
        problems = Problems()
        check_email(problems, value, "email")
        codes |= {error.code for error in problems.errors}
    assert len(codes) >= 33
    assert sorted(code for code in codes if not i18n.has(f"error.{code}")) == []


def test_every_password_rule_is_said_in_russian() -> None:
    codes = {"password.mismatch"}
    for password in (
        "",
        "a" * 129,
        "Пароль1!",
        " Abcdef1! ",
        "PASSWORD1!",
        "Passw0rd!",
        "Aaa11111!",
        "Qwer1234!",
        "Ivanova7!",
        "Mariya7!x",
        "Z9161234567!a",
        "Masha.Z9!x",
    ):
        try:
            validate_password(password, contact="+79161234567", surname="Ivanova", name="Mariya")
        except InvalidInput as invalid:
            codes |= {error.code for error in invalid.errors}
        try:
            validate_password(password, contact="masha@x.ru")
        except InvalidInput as invalid:
            codes |= {error.code for error in invalid.errors}
    assert len(codes) >= 15
    assert sorted(code for code in codes if not i18n.has(f"error.{code}")) == []
