"""Every input rule of the domain (`registration.contact`, `person`, `documents`, `password`,
`address`, `codes`, `checks`): what each function accepts and normalises to, and
every rule it rejects with the exact field, code and message the portal shows the citizen."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from registration.address import PostalAddress, normalize_postal_address
from registration.checks import validate_free_text
from registration.codes import Purpose, normalize_code, validate_code_input
from registration.contact import Channel, Contact, normalize_email, normalize_phone
from registration.documents import format_snils, normalize_snils, snils_check_digits
from registration.errors import InvalidInput, Refusal
from registration.identity import same_person_documents
from registration.password import validate_password, validate_password_confirmation
from registration.person import (
    Gender,
    Person,
    Profile,
    names_match,
    validate_person_name,
    validate_profile,
    validate_registration_start,
)
from tests.parsing import parse

Error = tuple[str, str, str]  # (field, code, message)


def errors_of(call: Callable[[], object]) -> list[Error]:
    with pytest.raises(InvalidInput) as info:
        call()
    return [(e.field, e.code, e.message) for e in info.value.errors]


# --- the refusal itself --------------------------------------------------------------------


def test_invalid_input_is_an_invalid_input_refusal_led_by_the_first_message() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone("8 812")
    assert info.value.code is Refusal.INVALID_INPUT
    assert info.value.message == "Phone number must start with +7, not 8"
    assert info.value.payload()["errors"][0] == {
        "field": "phone",
        "code": "phone.leading_8",
        "message": "Phone number must start with +7, not 8",
    }


def test_the_domain_imports_only_what_the_workflow_sandbox_allows() -> None:
    """The rules run inside update validators, in Temporal's sandbox: the standard library,
    pydantic and the domain itself, nothing else."""
    imported: set[str] = set()
    for module in (Path(__file__).parents[2] / "registration").glob("*.py"):
        tree = parse(module)
        imported |= {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        } | {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
    outside = {m for m in imported if m not in sys.stdlib_module_names}
    assert outside <= {"registration", "pydantic"}


# --- phone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+79123456789",
        "+7 (912) 345-67-89",
        "+7-912-345-67-89",
        "+7(912)3456789",
        "  +7 912 345 67 89  ",
    ],
)
def test_phone_is_normalised_to_plus7_and_ten_digits(raw: str) -> None:
    assert normalize_phone(raw) == "+79123456789"


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("", "phone.required", "Phone number is required"),
        ("   ", "phone.required", "Phone number is required"),
        ("89123456789", "phone.leading_8", "Phone number must start with +7, not 8"),
        ("8 (912) 345-67-89", "phone.leading_8", "Phone number must start with +7, not 8"),
        ("79123456789", "phone.missing_plus", "Phone number must start with +7, not 7"),
        ("9123456789", "phone.country_code", "Phone number must start with +7"),
        ("+380501234567", "phone.country_code", "Phone number must start with +7"),
        ("+7912345678", "phone.length", "Phone number must have 10 digits after +7"),
        ("+791234567890", "phone.length", "Phone number must have 10 digits after +7"),
        (
            "+7 812 345 67 89",
            "phone.not_mobile",
            "Phone number must be a mobile number: the first digit after +7 must be 9",
        ),
        (
            "+7 912 345 67 89 ext",
            "phone.invalid_characters",
            "Phone number may contain only digits, spaces, hyphens and parentheses",
        ),
        (
            "+7 912 345+67 89",
            "phone.invalid_characters",
            "Phone number may contain only digits, spaces, hyphens and parentheses",
        ),
        (
            "+7.912.345.67.89",
            "phone.invalid_characters",
            "Phone number may contain only digits, spaces, hyphens and parentheses",
        ),
    ],
)
def test_phone_rule(raw: str, code: str, message: str) -> None:
    assert errors_of(lambda: normalize_phone(raw)) == [("phone", code, message)]


def test_phone_reports_every_broken_rule_at_once() -> None:
    assert errors_of(lambda: normalize_phone("8 (812) 34x")) == [
        (
            "phone",
            "phone.invalid_characters",
            "Phone number may contain only digits, spaces, hyphens and parentheses",
        ),
        ("phone", "phone.leading_8", "Phone number must start with +7, not 8"),
        ("phone", "phone.length", "Phone number must have 10 digits after +7"),
        (
            "phone",
            "phone.not_mobile",
            "Phone number must be a mobile number: the first digit after +7 must be 9",
        ),
    ]


def test_phone_errors_name_the_given_field() -> None:
    errors = errors_of(lambda: normalize_phone("89123456789", field="contact.address"))
    assert [e[0] for e in errors] == ["contact.address"]


# --- e-mail --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ivan@mail.ru", "ivan@mail.ru"),
        ("  Ivan.Petrov@Mail.RU  ", "Ivan.Petrov@mail.ru"),
        ("user+tag@sub.example.com", "user+tag@sub.example.com"),
        ("Иван@Почта.РФ", "Иван@почта.рф"),
        ("a@b.co", "a@b.co"),
        ("x" * 64 + "@mail.ru", "x" * 64 + "@mail.ru"),
        # One mailbox, one contact: full-width letters and A-labels are the same domain.
        ("anna@ｍａｉｌ.ru", "anna@mail.ru"),
        ("anna@ＭＡＩＬ.ＲＵ", "anna@mail.ru"),
        ("anna@xn--80a1acny.xn--p1ai", "anna@почта.рф"),
        ("ａｎｎａ@mail.ru", "anna@mail.ru"),
    ],
)
def test_email_is_trimmed_with_lower_cased_domain(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


DOMAIN_MESSAGE = "The part of the e-mail address after @ must be a domain such as mail.ru"


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("", "email.required", "E-mail address is required"),
        ("  ", "email.required", "E-mail address is required"),
        ("ivan petrov@mail.ru", "email.spaces", "E-mail address must not contain spaces"),
        ("ivan\tpetrov@mail.ru", "email.spaces", "E-mail address must not contain spaces"),
        ("ivan.mail.ru", "email.at_sign", "E-mail address must contain exactly one @"),
        ("ivan@petrov@mail.ru", "email.at_sign", "E-mail address must contain exactly one @"),
        ("@mail.ru", "email.local_part_missing", "E-mail address must have a name before @"),
        (
            "x" * 65 + "@mail.ru",
            "email.local_part_too_long",
            "The part of the e-mail address before @ must be at most 64 characters",
        ),
        ("ivan@", "email.domain", DOMAIN_MESSAGE),
        ("ivan@mail", "email.domain", DOMAIN_MESSAGE),
        ("ivan@mail..ru", "email.domain", DOMAIN_MESSAGE),
        ("ivan@.mail.ru", "email.domain", DOMAIN_MESSAGE),
        ("ivan@mail.ru.", "email.domain", DOMAIN_MESSAGE),
        ("ivan@-mail.ru", "email.domain", DOMAIN_MESSAGE),
        ("ivan@mail_box.ru", "email.domain", DOMAIN_MESSAGE),
        ("ivan@10.0.0.1", "email.domain", DOMAIN_MESSAGE),
        (
            "a" * 60 + "@" + ("b" * 60 + ".") * 4 + "ru",
            "email.too_long",
            "E-mail address must be at most 254 characters",
        ),
    ],
)
def test_email_rule(raw: str, code: str, message: str) -> None:
    assert errors_of(lambda: normalize_email(raw)) == [("email", code, message)]


def test_email_reports_every_broken_rule_at_once() -> None:
    assert errors_of(lambda: normalize_email("iv an@mail", field="contact.address")) == [
        ("contact.address", "email.spaces", "E-mail address must not contain spaces"),
        ("contact.address", "email.domain", DOMAIN_MESSAGE),
    ]


# --- person names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Иванов", "Иванов"),
        ("  Иванов  ", "Иванов"),
        ("Ёлкин", "Ёлкин"),
        ("Салтыков-Щедрин", "Салтыков-Щедрин"),
        ("Анна   Мария", "Анна Мария"),
        ("Анна\tМария", "Анна Мария"),
        ("D'Artagnan", "D'Artagnan"),
        ("O\u2019Brien", "O'Brien"),
        ("Smith", "Smith"),
        ("Я", "Я"),
        ("Я" * 100, "Я" * 100),
    ],
)
def test_person_name_is_trimmed_and_whitespace_normalised(raw: str, expected: str) -> None:
    assert validate_person_name(raw, "surname") == expected


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("", "person_name.required", "Surname is required"),
        ("   ", "person_name.required", "Surname is required"),
        ("Я" * 101, "person_name.too_long", "Surname must be at most 100 characters"),
        (
            "Иванов2",
            "person_name.invalid_characters",
            "Surname may contain only letters, spaces, hyphens and apostrophes",
        ),
        (
            "Müller",
            "person_name.invalid_characters",
            "Surname may contain only letters, spaces, hyphens and apostrophes",
        ),
        (
            "Марія",  # Ukrainian і is not in the Russian alphabet
            "person_name.invalid_characters",
            "Surname may contain only letters, spaces, hyphens and apostrophes",
        ),
        (
            "Ivanов",
            "person_name.mixed_alphabets",
            "Surname must be written in one alphabet, Cyrillic or Latin, not a mix of both",
        ),
        ("-Иванов", "person_name.first_not_letter", "Surname must start with a letter"),
        ("'Ivan", "person_name.first_not_letter", "Surname must start with a letter"),
    ],
)
def test_person_name_rule(raw: str, code: str, message: str) -> None:
    assert errors_of(lambda: validate_person_name(raw, "surname")) == [("surname", code, message)]


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("surname", "Surname"),
        ("name", "First name"),
        ("patronymic", "Patronymic"),
        ("person.name", "First name"),
        ("maiden_name", "Maiden name"),
    ],
)
def test_person_name_message_names_the_field(field: str, label: str) -> None:
    assert errors_of(lambda: validate_person_name("", field)) == [
        (field, "person_name.required", f"{label} is required")
    ]


def test_person_name_reports_every_broken_rule_at_once() -> None:
    assert errors_of(lambda: validate_person_name("1Ivanов", "name")) == [
        (
            "name",
            "person_name.invalid_characters",
            "First name may contain only letters, spaces, hyphens and apostrophes",
        ),
        (
            "name",
            "person_name.mixed_alphabets",
            "First name must be written in one alphabet, Cyrillic or Latin, not a mix of both",
        ),
        ("name", "person_name.first_not_letter", "First name must start with a letter"),
    ]


# --- start of a registration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "email", "contact"),
    [
        ("+7 912 345-67-89", None, Contact(channel=Channel.SMS, address="+79123456789")),
        (None, "Ivan@Mail.RU", Contact(channel=Channel.EMAIL, address="Ivan@mail.ru")),
        ("  ", "ivan@mail.ru", Contact(channel=Channel.EMAIL, address="ivan@mail.ru")),
        ("+79123456789", "", Contact(channel=Channel.SMS, address="+79123456789")),
        ("+79123456789", "ivan@mail.ru", Contact(channel=Channel.SMS, address="+79123456789")),
    ],
)
def test_registration_start_prefers_the_phone_as_contact(
    phone: str | None, email: str | None, contact: Contact
) -> None:
    person, chosen = validate_registration_start(" Иванов ", "Иван  Петр", phone, email)
    assert person == Person(surname="Иванов", name="Иван Петр")
    assert chosen == contact


@pytest.mark.parametrize(("phone", "email"), [(None, None), ("", " "), ("  ", None)])
def test_registration_start_needs_a_phone_or_an_email(phone: str | None, email: str | None) -> None:
    assert errors_of(lambda: validate_registration_start("Иванов", "Иван", phone, email)) == [
        ("contact", "contact.required", "Enter a mobile phone number or an e-mail address")
    ]


def test_registration_start_checks_both_contacts_when_both_are_given() -> None:
    assert errors_of(
        lambda: validate_registration_start("Иванов", "Иван", "+79123456789", "ivan@mail")
    ) == [("email", "email.domain", DOMAIN_MESSAGE)]


def test_registration_start_reports_every_broken_rule_at_once() -> None:
    assert errors_of(
        lambda: validate_registration_start("", "Ivanов", "89123456789", "no-at-sign")
    ) == [
        ("surname", "person_name.required", "Surname is required"),
        (
            "name",
            "person_name.mixed_alphabets",
            "First name must be written in one alphabet, Cyrillic or Latin, not a mix of both",
        ),
        ("phone", "phone.leading_8", "Phone number must start with +7, not 8"),
        ("email", "email.at_sign", "E-mail address must contain exactly one @"),
    ]


# --- password ------------------------------------------------------------------------------

LONGEST = "Zb7#Qm2$" * 16  # 128 characters, no rule broken


@pytest.mark.parametrize(
    "password",
    ["Zebra#Cloud7", "Kx9!mPq2 wT", "Tr0ub4dor&3", "Zb7#Qm2$", LONGEST, "Ab1!Ab1!aab"],
)
def test_password_that_follows_the_policy_is_accepted(password: str) -> None:
    validate_password(password)


def test_password_may_resemble_short_or_foreign_personal_data() -> None:
    validate_password(
        "Li#Zebra7q", contact="li@mail.ru", surname="Иванов", name="Li"
    )  # 2-letter fragments and Cyrillic names cannot be told apart from chance
    validate_password("Zx#1538270q", contact="+79161538274", surname="Smith", name="John")


@pytest.mark.parametrize(
    ("password", "code", "message"),
    [
        ("Ab1!xyz", "password.too_short", "Password must be at least 8 characters"),
        (LONGEST + "x", "password.too_long", "Password must be at most 128 characters"),
        (
            "Пароль1!Ab",
            "password.invalid_characters",
            "Password may contain only Latin letters, digits, spaces and special characters",
        ),
        (
            "Zebra#\tCloud7",
            "password.invalid_characters",
            "Password may contain only Latin letters, digits, spaces and special characters",
        ),
        (" Zebra#Cloud7", "password.spaces_at_ends", "Password must not start or end with a space"),
        ("Zebra#Cloud7 ", "password.spaces_at_ends", "Password must not start or end with a space"),
        (
            "zebra#cloud7",
            "password.no_uppercase",
            "Password must contain an upper-case Latin letter",
        ),
        (
            "ZEBRA#CLOUD7",
            "password.no_lowercase",
            "Password must contain a lower-case Latin letter",
        ),
        ("Zebra#Cloudy", "password.no_digit", "Password must contain a digit"),
        (
            "ZebraCloud7",
            "password.no_special",
            "Password must contain a special character, such as ! @ # $ % & *",
        ),
        ("Password1!", "password.common", "This password is too common, choose another one"),
        ("pASSWORD1!", "password.common", "This password is too common, choose another one"),
        ("P@ssw0rd", "password.common", "This password is too common, choose another one"),
        ("Gosuslugi1!", "password.common", "This password is too common, choose another one"),
        (
            "Zebraaa#Cloud7",
            "password.repeated_characters",
            "Password must not contain the same character 3 or more times in a row",
        ),
        (
            "Zeb#AaA7cloud",
            "password.repeated_characters",
            "Password must not contain the same character 3 or more times in a row",
        ),
        (
            "Zeb#777cloud",
            "password.repeated_characters",
            "Password must not contain the same character 3 or more times in a row",
        ),
    ],
)
def test_password_rule(password: str, code: str, message: str) -> None:
    assert errors_of(lambda: validate_password(password)) == [("password", code, message)]


SEQUENCE = (
    "password",
    "password.sequence",
    "Password must not contain sequences such as 1234, abcd or qwer",
)


@pytest.mark.parametrize(
    "password",
    [
        "Zx#1234mq",  # digits
        "Zx#4321mq",  # backwards
        "Zx#7890mq",  # the keyboard's digit row
        "Xy7#ABCDm",  # alphabet, any case
        "Xy7#dcbaM",
        "Qwer#7zm",  # keyboard row
        "Xy7#asdfM",
        "Xy7#MNBVc",  # keyboard row backwards
        "Xy7!@#$m",  # shifted digit row
    ],
)
def test_password_with_a_trivial_run_is_refused(password: str) -> None:
    assert errors_of(lambda: validate_password(password)) == [SEQUENCE]


@pytest.mark.parametrize(
    ("kwargs", "password", "code", "message"),
    [
        (
            {"contact": "+79161538274"},
            "Zx#1538274q",
            "password.contains_phone",
            "Password must not contain your phone number",
        ),
        (
            {"contact": "8 (916) 153-82-74"},
            "Zx#79161538274q",
            "password.contains_phone",
            "Password must not contain your phone number",
        ),
        (
            {"contact": "ivan.petrov@mail.ru"},
            "Ivan.Petrov#7",
            "password.contains_email",
            "Password must not contain the part of your e-mail address before @",
        ),
        (
            {"surname": "Smith"},
            "Zx7#sMiThq",
            "password.contains_surname",
            "Password must not contain your surname",
        ),
        (
            {"name": "John"},
            "Zx7#JOHNq",
            "password.contains_name",
            "Password must not contain your first name",
        ),
        (
            {"name": "Ann"},
            "Zx7#annq",
            "password.contains_name",
            "Password must not contain your first name",
        ),
    ],
)
def test_password_with_personal_data_is_refused(
    kwargs: dict[str, Any], password: str, code: str, message: str
) -> None:
    assert errors_of(lambda: validate_password(password, **kwargs)) == [("password", code, message)]


def test_password_reports_every_broken_rule_at_once() -> None:
    assert errors_of(lambda: validate_password("")) == [
        ("password", "password.too_short", "Password must be at least 8 characters"),
        ("password", "password.no_uppercase", "Password must contain an upper-case Latin letter"),
        ("password", "password.no_lowercase", "Password must contain a lower-case Latin letter"),
        ("password", "password.no_digit", "Password must contain a digit"),
        (
            "password",
            "password.no_special",
            "Password must contain a special character, such as ! @ # $ % & *",
        ),
    ]
    assert [
        e[1]
        for e in errors_of(
            lambda: validate_password(
                " qwerty123! ", contact="+79161231230", surname="Qwerty", name="Ivan"
            )
        )
    ] == [
        "password.spaces_at_ends",
        "password.no_uppercase",
        "password.sequence",
        "password.contains_surname",
    ]
    assert [e[1] for e in errors_of(lambda: validate_password("Qwerty123!"))] == [
        "password.common",
        "password.sequence",
    ]


def test_password_confirmation_must_repeat_the_password() -> None:
    validate_password_confirmation("Zebra#Cloud7", "Zebra#Cloud7")
    assert errors_of(lambda: validate_password_confirmation("Zebra#Cloud7", "zebra#Cloud7")) == [
        ("password_confirmation", "password.mismatch", "Passwords do not match")
    ]
    assert errors_of(
        lambda: validate_password_confirmation("Zebra#Cloud7", "Zebra#Cloud7 ", field="repeat")
    ) == [("repeat", "password.mismatch", "Passwords do not match")]


# --- SNILS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("112233445", "95"),  # the commonly cited example: sum 95 < 100
        ("001326678", "99"),  # sum 99: the sum itself
        ("001508815", "00"),  # sum exactly 100
        ("001437544", "00"),  # sum exactly 101
        ("001318759", "01"),  # sum 102: 102 mod 101
        ("987654321", "83"),  # sum 285: 285 mod 101
        ("006996682", "00"),  # sum 201: 201 mod 101 = 100, written 00
        ("001001999", "65"),  # the first body the rule applies to
    ],
)
def test_snils_check_digits_follow_the_pfr_rule(body: str, check: str) -> None:
    assert snils_check_digits(body) == check


@pytest.mark.parametrize("body", ["11223344", "1122334455", "11223344x", ""])
def test_snils_check_digits_need_a_nine_digit_body(body: str) -> None:
    with pytest.raises(ValueError):
        snils_check_digits(body)


def test_format_snils_prints_the_card_form() -> None:
    assert format_snils("11223344595") == "112-233-445 95"
    with pytest.raises(ValueError):
        format_snils("112-233-445 95")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("112-233-445 95", "11223344595"),
        ("11223344595", "11223344595"),
        ("  112-233-445 95 ", "11223344595"),
        ("001-508-815 00", "00150881500"),
        ("001-437-544 00", "00143754400"),
        ("006-996-682 00", "00699668200"),
        ("001-001-999 65", "00100199965"),
        ("001-001-998 17", "00100199817"),  # up to 001-001-998 there is nothing to check
        ("000-000-000 00", "00000000000"),
    ],
)
def test_snils_is_normalised_to_eleven_digits(raw: str, expected: str) -> None:
    assert normalize_snils(raw) == expected


SNILS_FORMAT = "SNILS must be 11 digits, as NNN-NNN-NNN NN or without spaces"


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("", "snils.required", "SNILS is required"),
        ("  ", "snils.required", "SNILS is required"),
        ("112-233-445 96", "snils.checksum", "SNILS check digits do not match"),
        ("11223344596", "snils.checksum", "SNILS check digits do not match"),
        ("001-001-999 00", "snils.checksum", "SNILS check digits do not match"),
        ("001-508-815 100", "snils.format", SNILS_FORMAT),
        ("112-233-445-95", "snils.format", SNILS_FORMAT),
        ("112 233 445 95", "snils.format", SNILS_FORMAT),
        ("1122334459", "snils.format", SNILS_FORMAT),
        ("112233445950", "snils.format", SNILS_FORMAT),
        ("112-233-44a 95", "snils.format", SNILS_FORMAT),
        ("\uff11" * 11, "snils.format", SNILS_FORMAT),  # full-width digits
    ],
)
def test_snils_rule(raw: str, code: str, message: str) -> None:
    assert errors_of(lambda: normalize_snils(raw)) == [("snils", code, message)]
    assert errors_of(lambda: normalize_snils(raw, field="profile.snils"))[0][0] == "profile.snils"


# --- profile -------------------------------------------------------------------------------

TODAY = date(2025, 6, 15)


def profile(**changes: Any) -> Profile:
    fields: dict[str, Any] = {
        "surname": "Иванов",
        "name": "Иван",
        "patronymic": "Иванович",
        "gender": Gender.MALE,
        "birth_date": date(1990, 3, 12),
        "birth_place": "г. Москва",
        "citizenship": "RUS",
        "passport_series": "4512",
        "passport_number": "345678",
        "passport_issue_date": date(2010, 4, 1),
        "passport_issuer": "Отделением УФМС России по г. Москве",
        "division_code": "770-001",
        "snils": "11223344595",
    }
    return Profile(**(fields | changes))


def profile_errors(**changes: Any) -> list[Error]:
    return errors_of(lambda: validate_profile(profile(**changes), TODAY))


def test_valid_profile_is_returned_unchanged() -> None:
    assert validate_profile(profile(), TODAY) == profile()


def test_profile_is_returned_as_a_normalised_copy() -> None:
    raw = profile(
        surname="  Салтыков-Щедрин ",
        name="Анна  Мария",
        patronymic="   ",
        birth_place="  г.   Москва ",
        citizenship=" rus ",
        passport_series=" 4512 ",
        passport_number="345678 ",
        passport_issuer="  Отделением УФМС  ",
        division_code="770001",
        snils="112-233-445 95",
    )
    assert validate_profile(raw, TODAY) == profile(
        surname="Салтыков-Щедрин",
        name="Анна Мария",
        patronymic=None,
        birth_place="г. Москва",
        passport_issuer="Отделением УФМС",
        snils="11223344595",
    )
    assert raw.surname == "  Салтыков-Щедрин "  # the input is not touched


def test_profile_without_patronymic_is_valid() -> None:
    assert validate_profile(profile(patronymic=None), TODAY).patronymic is None


@pytest.mark.parametrize(
    ("birth", "today"),
    [
        (date(2011, 6, 15), TODAY),  # 14 exactly today
        (date(1904, 6, 16), TODAY),  # 120 years and 364 days
        (date(2008, 2, 29), date(2022, 2, 28)),  # a 29 February birthday falls on 28 February
    ],
)
def test_age_at_the_boundaries_is_accepted(birth: date, today: date) -> None:
    valid = profile(birth_date=birth, passport_issue_date=today)
    assert validate_profile(valid, today).birth_date == birth


TOO_YOUNG = ("birth_date", "birth_date.too_young", "You must be at least 14 years old")
BEFORE_14 = (
    "passport_issue_date",
    "passport_issue_date.before_14",
    "Passport issue date cannot be before your 14th birthday",
)
BEFORE_1997 = (
    "passport_issue_date",
    "passport_issue_date.before_1997",
    "Passport issue date cannot be before 1 October 1997, "
    "when the current Russian passport was introduced",
)


@pytest.mark.parametrize(
    ("birth", "today"),
    [(date(2011, 6, 16), TODAY), (date(2008, 2, 29), date(2022, 2, 27))],
)
def test_younger_than_14_is_refused(birth: date, today: date) -> None:
    young = profile(birth_date=birth, passport_issue_date=today)
    assert errors_of(lambda: validate_profile(young, today)) == [TOO_YOUNG, BEFORE_14]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"birth_date": date(1904, 6, 15)},
            [("birth_date", "birth_date.too_old", "Age cannot be over 120 years")],
        ),
        (
            {"birth_date": date(2025, 6, 16)},
            [("birth_date", "birth_date.in_future", "Date of birth cannot be in the future")],
        ),
        (
            {"passport_issue_date": date(2025, 6, 16)},
            [
                (
                    "passport_issue_date",
                    "passport_issue_date.in_future",
                    "Passport issue date cannot be in the future",
                )
            ],
        ),
        ({"passport_issue_date": date(2004, 3, 11)}, [BEFORE_14]),
        (
            {"birth_date": date(1960, 1, 1), "passport_issue_date": date(1997, 9, 30)},
            [BEFORE_1997],
        ),
        (
            {"birth_date": date(1985, 1, 1), "passport_issue_date": date(1997, 5, 1)},
            [BEFORE_14, BEFORE_1997],
        ),
        (
            {"citizenship": "UKR"},
            [
                (
                    "citizenship",
                    "citizenship.not_russian",
                    "Only citizens of Russia (RUS) can be verified with a Russian passport",
                )
            ],
        ),
        *(
            (
                {"citizenship": value},
                [
                    (
                        "citizenship",
                        "citizenship.format",
                        "Citizenship must be a 3-letter country code (ISO 3166-1 alpha-3), "
                        "such as RUS",
                    )
                ],
            )
            for value in ("RU", "RUSS", "R2S", "", "РУС")
        ),
        (
            {"passport_series": "45 12"},
            [
                (
                    "passport_series",
                    "passport_series.spaces",
                    "Passport series must be 4 digits without spaces",
                )
            ],
        ),
        *(
            (
                {"passport_series": value},
                [
                    (
                        "passport_series",
                        "passport_series.format",
                        "Passport series must be exactly 4 digits",
                    )
                ],
            )
            for value in ("451", "45123", "45a2", "45-12", "")
        ),
        (
            {"passport_number": "345 678"},
            [
                (
                    "passport_number",
                    "passport_number.spaces",
                    "Passport number must be 6 digits without spaces",
                )
            ],
        ),
        *(
            (
                {"passport_number": value},
                [
                    (
                        "passport_number",
                        "passport_number.format",
                        "Passport number must be exactly 6 digits",
                    )
                ],
            )
            for value in ("34567", "3456789", "34567O", "")
        ),
        (
            {"birth_place": "   "},
            [("birth_place", "birth_place.required", "Place of birth is required")],
        ),
        (
            {"birth_place": "М" * 201},
            [
                (
                    "birth_place",
                    "birth_place.too_long",
                    "Place of birth must be at most 200 characters",
                )
            ],
        ),
        (
            {"passport_issuer": ""},
            [
                (
                    "passport_issuer",
                    "passport_issuer.required",
                    "Passport issuing authority is required",
                )
            ],
        ),
        (
            {"passport_issuer": "О" * 251},
            [
                (
                    "passport_issuer",
                    "passport_issuer.too_long",
                    "Passport issuing authority must be at most 250 characters",
                )
            ],
        ),
        *(
            (
                {"division_code": value},
                [
                    (
                        "division_code",
                        "division_code.format",
                        "Division code must be 6 digits in the form NNN-NNN",
                    )
                ],
            )
            for value in ("770 001", "77-0001", "7700011", "77000", "770-00a", "")
        ),
        (
            {"snils": "112-233-445 96"},
            [("snils", "snils.checksum", "SNILS check digits do not match")],
        ),
        (
            {"patronymic": "Ivanovич"},
            [
                (
                    "patronymic",
                    "person_name.mixed_alphabets",
                    "Patronymic must be written in one alphabet, Cyrillic or Latin, "
                    "not a mix of both",
                )
            ],
        ),
    ],
)
def test_profile_rule(changes: dict[str, Any], expected: list[Error]) -> None:
    assert profile_errors(**changes) == expected


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"birth_place": "М" * 200}, "birth_place", "М" * 200),
        ({"passport_issuer": "О" * 250}, "passport_issuer", "О" * 250),
        ({"passport_issue_date": date(1997, 10, 1), "birth_date": date(1960, 1, 1)}, None, None),
        ({"passport_issue_date": TODAY}, None, None),
        ({"passport_issue_date": date(2004, 3, 12)}, None, None),  # the 14th birthday itself
        ({"division_code": "770-001"}, "division_code", "770-001"),
        ({"passport_series": "0000", "passport_number": "000000"}, "passport_number", "000000"),
    ],
)
def test_profile_boundaries_are_accepted(
    changes: dict[str, Any], field: str | None, value: str | None
) -> None:
    valid = validate_profile(profile(**changes), TODAY)
    if field is not None:
        assert getattr(valid, field) == value


def test_profile_reports_every_broken_rule_at_once_in_form_order() -> None:
    assert profile_errors(
        surname="",
        name="Ivanов",
        patronymic="1",
        birth_date=date(2030, 1, 1),
        birth_place="",
        citizenship="ukr",
        passport_series="45 12",
        passport_number="12345",
        passport_issue_date=date(1990, 1, 1),
        passport_issuer=" ",
        division_code="77-0001",
        snils="123",
    ) == [
        ("surname", "person_name.required", "Surname is required"),
        (
            "name",
            "person_name.mixed_alphabets",
            "First name must be written in one alphabet, Cyrillic or Latin, not a mix of both",
        ),
        (
            "patronymic",
            "person_name.invalid_characters",
            "Patronymic may contain only letters, spaces, hyphens and apostrophes",
        ),
        ("patronymic", "person_name.first_not_letter", "Patronymic must start with a letter"),
        ("birth_date", "birth_date.in_future", "Date of birth cannot be in the future"),
        ("birth_place", "birth_place.required", "Place of birth is required"),
        (
            "citizenship",
            "citizenship.not_russian",
            "Only citizens of Russia (RUS) can be verified with a Russian passport",
        ),
        (
            "passport_series",
            "passport_series.spaces",
            "Passport series must be 4 digits without spaces",
        ),
        ("passport_number", "passport_number.format", "Passport number must be exactly 6 digits"),
        BEFORE_1997,  # the 14th-birthday rule stays silent: the birth date is already wrong
        ("passport_issuer", "passport_issuer.required", "Passport issuing authority is required"),
        (
            "division_code",
            "division_code.format",
            "Division code must be 6 digits in the form NNN-NNN",
        ),
        ("snils", "snils.format", SNILS_FORMAT),
    ]


# --- postal address ------------------------------------------------------------------------


def address(**changes: Any) -> PostalAddress:
    fields: dict[str, Any] = {
        "postcode": "101000",
        "region": "г. Москва",
        "city": "Москва",
        "street": "ул. Мясницкая",
        "house": "26",
        "apartment": "12",
    }
    return PostalAddress(**(fields | changes))


def test_postal_address_is_returned_as_a_normalised_copy() -> None:
    assert normalize_postal_address(address()) == address()
    assert normalize_postal_address(
        address(
            postcode=" 101000 ",
            region=" г.  Москва",
            street="ул.   Мясницкая ",
            house=" 26 к2 ",
            apartment="  ",
        )
    ) == address(street="ул. Мясницкая", house="26 к2", apartment=None)
    assert normalize_postal_address(address(apartment=None)).apartment is None
    assert normalize_postal_address(address(city="М" * 200)).city == "М" * 200


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        *(
            (
                {"postcode": value},
                [("address.postcode", "postcode.format", "Postcode must be 6 digits")],
            )
            for value in ("10100", "1010000", "10100a", "101 000", "")
        ),
        ({"region": " "}, [("address.region", "region.required", "Region is required")]),
        ({"city": ""}, [("address.city", "city.required", "City is required")]),
        ({"street": ""}, [("address.street", "street.required", "Street is required")]),
        ({"house": ""}, [("address.house", "house.required", "House is required")]),
        (
            {"city": "М" * 201},
            [("address.city", "city.too_long", "City must be at most 200 characters")],
        ),
        (
            {"apartment": "1" * 201},
            [
                (
                    "address.apartment",
                    "apartment.too_long",
                    "Apartment must be at most 200 characters",
                )
            ],
        ),
    ],
)
def test_postal_address_rule(changes: dict[str, Any], expected: list[Error]) -> None:
    assert errors_of(lambda: normalize_postal_address(address(**changes))) == expected


def test_postal_address_reports_every_broken_rule_at_once_under_its_field() -> None:
    broken = address(postcode="1234", region="", house="")
    assert errors_of(lambda: normalize_postal_address(broken, field="letter_address")) == [
        ("letter_address.postcode", "postcode.format", "Postcode must be 6 digits"),
        ("letter_address.region", "region.required", "Region is required"),
        ("letter_address.house", "house.required", "House is required"),
    ]


# --- one-time codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "raw", "expected"),
    [
        (Purpose.SMS, "123456", "123456"),
        (Purpose.SMS, " 012345 ", "012345"),
        (Purpose.LETTER, "ABCDEFGHJK", "ABCDEFGHJK"),
        (Purpose.LETTER, "abcd-efgh-jk", "ABCDEFGHJK"),
        (Purpose.LETTER, " a1b2 c3d4 e5 ", "A1B2C3D4E5"),
        (Purpose.LETTER, "ILOilo2345", "1101102345"),
        (Purpose.EMAIL, "0123456789abcdefghjkmnpqrs", "0123456789ABCDEFGHJKMNPQRS"),
    ],
)
def test_code_is_normalised_for_hashing(purpose: Purpose, raw: str, expected: str) -> None:
    assert validate_code_input(purpose, raw) == expected
    assert normalize_code(purpose, expected) == expected  # hashing it changes nothing more


LETTER_CHARS = (
    "code",
    "code.invalid_characters",
    "The code from the letter may contain only Latin letters and digits, except U",
)
LETTER_LENGTH = ("code", "code.length", "The code from the letter must be exactly 10 characters")
LETTER_CYRILLIC = (
    "code",
    "code.cyrillic_letters",
    "The code from the letter is typed in Latin letters: switch the keyboard to English",
)
SMS_CHARS = ("code", "code.invalid_characters", "The SMS code may contain only digits")
SMS_LENGTH = ("code", "code.length", "The SMS code must be exactly 6 digits")


@pytest.mark.parametrize(
    ("purpose", "raw", "expected"),
    [
        (Purpose.SMS, "", [("code", "code.required", "Enter the SMS code")]),
        (Purpose.SMS, "12345", [SMS_LENGTH]),
        (Purpose.SMS, "1234567", [SMS_LENGTH]),
        (Purpose.SMS, "12a456", [SMS_CHARS]),
        (Purpose.SMS, "\uff11" * 6, [SMS_CHARS]),  # full-width digits
        (Purpose.SMS, "123 456", [SMS_CHARS, SMS_LENGTH]),
        (Purpose.SMS, "123-456", [SMS_CHARS, SMS_LENGTH]),
        (Purpose.LETTER, " - ", [("code", "code.required", "Enter the code from the letter")]),
        (Purpose.LETTER, "ABCDEFGHJ", [LETTER_LENGTH]),
        (Purpose.LETTER, "ABCDEFGHJKM", [LETTER_LENGTH]),
        (Purpose.LETTER, "ABCDEFGHJU", [LETTER_CHARS]),
        (Purpose.LETTER, "ABCDEFGH!", [LETTER_CHARS, LETTER_LENGTH]),
        (Purpose.LETTER, "АВСDEFGHJK", [LETTER_CYRILLIC]),  # Cyrillic А, В, С
        (Purpose.LETTER, "АBCDEFGHJ!", [LETTER_CYRILLIC, LETTER_CHARS]),
        (
            Purpose.EMAIL,
            "0123456789ABCDEFGHJKMNPQR",
            [
                (
                    "code",
                    "code.length",
                    "The e-mail confirmation code must be exactly 26 characters",
                )
            ],
        ),
        (
            Purpose.EMAIL,
            "0123456789ABCDEFGHJKMNPQR_",
            [
                (
                    "code",
                    "code.invalid_characters",
                    "The e-mail confirmation code may contain only Latin letters and digits, "
                    "except U",
                )
            ],
        ),
    ],
)
def test_code_rule(purpose: Purpose, raw: str, expected: list[Error]) -> None:
    assert errors_of(lambda: validate_code_input(purpose, raw)) == expected


def test_code_errors_name_the_given_field() -> None:
    errors = errors_of(lambda: validate_code_input(Purpose.SMS, "1", field="letter_code"))
    assert [e[0] for e in errors] == ["letter_code"]


# --- comparing what a clerk or a bank saw with the profile ----------------------------------


@pytest.mark.parametrize(
    ("series", "number", "snils", "mismatches"),
    [
        ("4512", "345678", "11223344595", []),
        (" 45 12 ", "345-678", "112-233-445 95", []),
        ("4512", "345678", "112 233 445 95", []),
        ("4513", "345678", "11223344595", ["passport_series"]),
        ("4512", "345679", "11223344595", ["passport_number"]),
        ("4512", "345678", "001-508-815 00", ["snils"]),  # valid, but someone else's
        ("4512", "345678", "112-233-445 96", ["snils"]),  # check digits fail
        ("4512", "345678", "not a snils", ["snils"]),
        ("4512", "345678", "", ["snils"]),
        ("", "", "", ["passport_series", "passport_number", "snils"]),
    ],
)
def test_same_person_documents_lists_the_mismatching_fields(
    series: str, number: str, snils: str, mismatches: list[str]
) -> None:
    assert same_person_documents(profile(), series, number, snils) == mismatches


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Иванов", "Иванов", True),
        ("  Иванов ", "ИВАНОВ", True),
        ("Ёлкин", "елкин", True),
        ("Фёдор", "ФЕДОР", True),
        ("Анна  Мария", "анна мария", True),
        ("O\u2019Brien", "O'BRIEN", True),
        ("Иванов", "Иванова", False),
        ("Петров-Водкин", "Петров Водкин", False),
        ("Ivanov", "Иванов", False),
    ],
)
def test_names_match_ignores_case_spacing_and_yo(a: str, b: str, same: bool) -> None:
    assert names_match(a, b) is same
    assert names_match(b, a) is same


@pytest.mark.parametrize("text", ["г. Москва\x00", "a\x07b"])
def test_free_text_with_control_characters_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_free_text(text, "reason", "Reason")
    assert [(e.field, e.code, e.message) for e in refused.value.errors] == [
        ("reason", "reason.invalid_characters", "Reason must not contain control characters")
    ]


def test_free_text_is_trimmed_and_required() -> None:
    assert validate_free_text("  duplicate   registration ", "reason", "Reason") == (
        "duplicate registration"
    )
    with pytest.raises(InvalidInput) as refused:
        validate_free_text("   ", "reason", "Reason")
    assert refused.value.errors[0].message == "Reason is required"


def test_profile_text_with_a_nul_byte_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_profile(profile(birth_place="г. Москва\x00"), TODAY)
    assert [e.code for e in refused.value.errors] == ["birth_place.invalid_characters"]


def test_e_mail_with_a_control_character_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_email("maria\x00@mail.ru")
    assert [e.code for e in refused.value.errors] == ["email.invalid_characters"]
