"""The console's words: every key the templates and the code look up is in the catalog, every
word in the catalog is used, and every rule a clerk's input can break is said in Russian."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from console import i18n
from console.access import refusal_text
from registration.checks import Problems
from registration.contact import check_phone
from registration.documents import check_document_digits, check_snils
from registration.errors import Refusal, StepRefused
from service.clerk_desk import DIFFERING, DeskWork
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
    "document.": list(DIFFERING),
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
    looked_up_by_code = ("error.", "refusal.")  # `field_errors`, `refusal_text`
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
