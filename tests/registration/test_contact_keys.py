"""Contacts are named by keyed digests: one per contact (registration ids are built from it,
and must never change) and one per phone number range."""

from __future__ import annotations

import pytest

from registration.codes import contact_key, range_key
from registration.contact import Channel, Contact
from service.registrations import registration_id_for

SECRET = b"s3"
PHONE = Contact(channel=Channel.SMS, address="+79161234567")
MAILBOX = Contact(channel=Channel.EMAIL, address="Maria@Example.ru")


@pytest.mark.parametrize(
    ("contact", "registration_id"),
    [
        (PHONE, "reg-91bb789a9c15bd1e73a799f1d21d16a1-2"),
        (MAILBOX, "reg-536ac91285c4e5e7134e3eecc6616b01-2"),
    ],
)
def test_registration_ids_are_the_ones_running_registrations_already_have(
    contact: Contact, registration_id: str
) -> None:
    assert registration_id_for(SECRET, contact, 2) == registration_id
    assert registration_id.startswith(f"reg-{contact_key(SECRET, contact)[:32]}-")


def test_an_email_address_is_one_contact_however_it_is_capitalised() -> None:
    lower = MAILBOX.model_copy(update={"address": MAILBOX.address.lower()})

    assert contact_key(SECRET, lower) == contact_key(SECRET, MAILBOX)


def test_a_contact_key_is_keyed_and_reveals_nothing() -> None:
    key = contact_key(SECRET, PHONE)

    assert len(key) == 64 and int(key, 16) >= 0
    assert key != contact_key(b"other secret", PHONE)
    assert PHONE.address[2:] not in key


def test_numbers_differing_in_their_last_four_digits_share_a_range() -> None:
    neighbour = PHONE.model_copy(update={"address": "+79161239999"})
    other = PHONE.model_copy(update={"address": "+79161244567"})

    assert range_key(SECRET, neighbour) == range_key(SECRET, PHONE)
    assert range_key(SECRET, other) != range_key(SECRET, PHONE)
    assert range_key(SECRET, PHONE) not in {contact_key(SECRET, PHONE), None}


def test_an_email_address_has_no_number_range() -> None:
    assert range_key(SECRET, MAILBOX) is None
