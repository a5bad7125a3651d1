"""What a service-center clerk is shown of a person: enough to know they have the right
registration in front of them, no more.

The clerk sees the name and the birth date (to compare with the face and the passport) and
only the last digits of the documents and the contact: the full numbers are read from the
documents the person brings, and the workflow alone compares them with the verified profile.
Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from registration.checks import DIGITS
from registration.contact import Channel, Contact
from registration.documents import format_snils
from registration.person import Profile

HIDDEN = "•"
SHOWN_DIGITS = 4
"""Of each document and phone number, this many last digits are shown."""


@dataclass(frozen=True)
class Masked:
    """A masked value as printed (`shown`, e.g. "•• •• ••5678") and what it lets be read
    (`ending`, "5678"), which is what a screen reader should say rather than the dots."""

    shown: str
    ending: str


@dataclass(frozen=True)
class PersonForClerk:
    surname: str
    name: str
    patronymic: str | None
    birth_date: date
    passport: Masked
    snils: Masked
    contact: Masked


def for_clerk(profile: Profile, contact: Contact) -> PersonForClerk:
    """The person as a clerk may see them: the name and the birth date in full; the passport
    ("45 12 345678"), the SNILS ("112-233-445 95") and the phone ("+7 916 123-45-67") with all
    but their last 4 digits hidden, and an e-mail address with all but the first character of
    its name hidden."""

    def last_digits(printed: str, keep: int = SHOWN_DIGITS, after: int = 0) -> Masked:
        """`printed` with every digit from index `after` on hidden but the last `keep`."""
        positions = [i for i, c in enumerate(printed) if c in DIGITS and i >= after]
        hidden = set(positions[:-keep])
        shown = "".join(HIDDEN if i in hidden else c for i, c in enumerate(printed))
        return Masked(shown=shown, ending="".join(printed[i] for i in positions[-keep:]))

    passport = last_digits(
        f"{profile.passport_series[:2]} {profile.passport_series[2:]} {profile.passport_number}"
    )
    if contact.channel is Channel.SMS:
        national = contact.address.removeprefix("+7")
        shown_contact = last_digits(
            f"+7 {national[:3]} {national[3:6]}-{national[6:8]}-{national[8:]}", after=2
        )
    else:
        local, _, domain = contact.address.partition("@")
        shown_contact = Masked(
            shown=f"{local[:1]}{HIDDEN * 3}@{domain}", ending=f"{local[:1]}…@{domain}"
        )
    return PersonForClerk(
        surname=profile.surname,
        name=profile.name,
        patronymic=profile.patronymic,
        birth_date=profile.birth_date,
        passport=passport,
        snils=last_digits(format_snils("".join(c for c in profile.snils if c in DIGITS))),
        contact=shown_contact,
    )
