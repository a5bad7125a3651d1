"""What a clerk is shown of a person: the name and birth date, the last digits of the rest."""

from __future__ import annotations

from datetime import date

from registration.contact import Channel, Contact
from registration.masking import Masked, PersonForClerk, for_clerk
from tests.data import PROFILE

PHONE = Contact(channel=Channel.SMS, address="+79161234567")


def test_a_clerk_sees_the_name_the_birth_date_and_the_last_four_digits_of_each_document() -> None:
    assert for_clerk(PROFILE, PHONE) == PersonForClerk(
        surname="Иванова",
        name="Мария",
        patronymic="Петровна",
        birth_date=date(1990, 5, 15),
        passport=Masked(shown="•• •• ••5678", ending="5678"),
        snils=Masked(shown="•••-•••-•45 95", ending="4595"),
        contact=Masked(shown="+7 ••• •••-45-67", ending="4567"),
    )


def test_a_snils_stored_as_digits_is_shown_as_on_the_card() -> None:
    shown = for_clerk(PROFILE.model_copy(update={"snils": "11223344595"}), PHONE)

    assert shown.snils == Masked(shown="•••-•••-•45 95", ending="4595")


def test_an_email_shows_its_first_letter_and_its_domain() -> None:
    email = Contact(channel=Channel.EMAIL, address="maria.ivanova@example.ru")

    assert for_clerk(PROFILE, email).contact == Masked(
        shown="m•••@example.ru", ending="m…@example.ru"
    )


def test_no_full_document_number_is_left_anywhere_in_what_a_clerk_sees() -> None:
    shown = repr(for_clerk(PROFILE, PHONE))

    for secret in ("4512", "345678", "11223344595", "112-233-445", "9161234567", "916"):
        assert secret not in shown
