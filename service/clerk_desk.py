"""The clerk's desk at a service center: find a person waiting to be confirmed in person, see
their registration as a clerk may, confirm it, and look back on the day. The console calls it
(any other front-end for clerks would too); every step a workflow takes goes through
`Registrations`, with the same rules and limits as the API's clerk routes.

What a clerk may see: a registration awaiting identity confirmation, or one their service
center acted on (`store.clerk_desk`); anything else is `RegistrationNotFound`, as an unknown id
is. Of the person, a clerk sees what `registration.masking.for_clerk` leaves. Searches and
views go to the clerks' trail (`staff_events`) with the clerk's id and center and no personal
data; confirmations are recorded by the workflow, naming both.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal
from registration.checks import Problems
from registration.contact import Contact, check_phone
from registration.documents import check_document_digits, check_snils
from registration.journey import Origin, Stage
from registration.masking import PersonForClerk, for_clerk
from registration.messages import ClerkConfirmation, ConfirmationVerdict
from registration.person import Profile
from service.registrations import Registrations
from settings import Settings
from store import clerk_desk, clerks
from store.clerk_desk import DeskRecord
from store.repository import RegistrationNotFound
from store.schema import RegistrationStatus

log = logging.getLogger(__name__)

FORM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class SearchBy(StrEnum):
    SNILS = "snils"
    PHONE = "phone"
    PASSPORT = "passport"


@dataclass(frozen=True)
class Lookup:
    """Who the clerk looks for, as typed: the field of `by` (both passport fields for a
    passport); the others are ignored."""

    by: SearchBy
    snils: str = ""
    phone: str = ""
    passport_series: str = ""
    passport_number: str = ""


@dataclass(frozen=True)
class DocumentsSeen:
    """What the clerk read from the documents the person brought, as typed."""

    passport_series: str
    passport_number: str
    snils: str


@dataclass(frozen=True)
class Card:
    """A registration as a clerk sees it."""

    registration_id: str
    person: PersonForClerk | None
    """None only for an account never verified, which a clerk does not reach."""
    status: RegistrationStatus
    stage: Stage
    awaiting: bool
    """A clerk may confirm it now."""
    created_at: datetime


class DeskWork(StrEnum):
    """Kinds of work at the desk that a day's list shows."""

    CONFIRMATION = "confirmation"
    REGISTRATION = "registration"
    """A person registered from scratch at the counter (`service.counter_desk`)."""


class Outcome(StrEnum):
    """Where a day's piece of work stands: a confirmation is confirmed or refused; a
    registration from scratch is where its journey is."""

    CONFIRMED = "confirmed"
    REFUSED = "refused"
    AWAITING_CODE = "awaiting_code"
    CHECKING = "checking"
    MISMATCH = "mismatch"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NOT_REGISTERED = "not_registered"


REGISTRATION_OUTCOMES: dict[Stage, Outcome] = {
    Stage.CONTACT: Outcome.AWAITING_CODE,
    Stage.VERIFICATION: Outcome.CHECKING,
    Stage.PROFILE: Outcome.MISMATCH,
    Stage.CONFIRMED: Outcome.CONFIRMED,
    Stage.CANCELLED: Outcome.CANCELLED,
    Stage.EXPIRED: Outcome.EXPIRED,
    Stage.REFUSED: Outcome.NOT_REGISTERED,
}
"""A registration from scratch in the day's list, by its stage (the stages it passes)."""


DAY_EVENTS: dict[str, tuple[DeskWork, Outcome]] = {
    "identity_confirmed": (DeskWork.CONFIRMATION, Outcome.CONFIRMED),
    "confirmation_refused": (DeskWork.CONFIRMATION, Outcome.REFUSED),
}
"""The audit lines naming a service center that a day's list shows, and what each one is: a
new kind of work at the desk adds its lines here."""


@dataclass(frozen=True)
class DayEntry:
    at: datetime
    registration_id: str
    full_name: str = field(repr=False)
    work: DeskWork
    outcome: Outcome
    clerk_id: str | None
    mine: bool
    """Done by the clerk looking, not by a colleague of the center."""
    differs: tuple[str, ...] = ()
    """For a refusal: the documents that differed."""


@dataclass(frozen=True)
class Verdict:
    """The workflow's verdict on what a clerk read: confirmed, or refused with the documents
    that differ (`DIFFERING`, in order) and, once refusals lock confirmation, until when."""

    confirmed: bool
    differs: tuple[str, ...] = ()
    locked_until: datetime | None = None


DIFFERING = ("passport_series", "passport_number", "snils")
"""The documents a clerk reads, as a refusal names them."""


def verdict_of(answer: ConfirmationVerdict) -> Verdict:
    """The workflow's verdict as the desk shows it: the documents that differ, in the order a
    clerk reads them."""
    named = set(answer.mismatched or ())
    return Verdict(
        confirmed=answer.confirmed,
        differs=tuple(document for document in DIFFERING if document in named),
        locked_until=answer.locked_until,
    )


class ClerkDesk:
    def __init__(self, registrations: Registrations, engine: AsyncEngine, settings: Settings):
        self._registrations = registrations
        self._engine = engine
        self._pepper = settings.token_pepper_bytes
        self._zone = ZoneInfo(settings.console_timezone)

    async def find(self, clerk: Principal, lookup: Lookup) -> list[Card]:
        """Registrations awaiting identity confirmation of the person looked for, newest
        first. Raises `InvalidInput` naming the fields typed wrong."""
        problems = Problems()
        match lookup.by:
            case SearchBy.SNILS:
                snils = check_snils(problems, lookup.snils, "snils")
                problems.raise_if_any()
                found = await self._registrations.awaiting_in_person(snils=snils)
            case SearchBy.PHONE:
                phone = check_phone(problems, lookup.phone, "phone")
                problems.raise_if_any()
                found = await self._registrations.awaiting_in_person(phone=phone)
            case SearchBy.PASSPORT:
                series, number = _passport(problems, lookup.passport_series, lookup.passport_number)
                problems.raise_if_any()
                found = await clerk_desk.awaiting_by_passport(self._engine, series, number)
        cards = [_card(record) for record in await clerk_desk.desk_records(self._engine, found)]
        await self._note(clerk, "searched", by=lookup.by.value, found=len(cards))
        return cards

    async def card(self, clerk: Principal, registration_id: str) -> Card:
        """The registration, if the clerk may see it; else `RegistrationNotFound`."""
        record = await self._visible(clerk, registration_id)
        await self._note(clerk, "viewed", registration_id=registration_id)
        return _card(record)

    async def confirm(
        self, clerk: Principal, registration_id: str, seen: DocumentsSeen, form_id: str
    ) -> Verdict:
        """The workflow's verdict on the documents the clerk read: confirmed, or refused naming
        the documents that differ. A form sent twice (`form_id` with the same documents) is
        one step, answered twice; the same form with other documents is another step.
        Raises `InvalidInput` for documents typed wrong (nothing is sent),
        `RegistrationNotFound` for a registration the clerk may not see, and what
        `Registrations.clerk_confirmation` raises (a step refused, a limit)."""
        problems = Problems()
        series, number = _passport(problems, seen.passport_series, seen.passport_number)
        snils = check_snils(problems, seen.snils, "snils")
        check_form_id(problems, form_id)
        problems.raise_if_any()
        await self._visible(clerk, registration_id)
        confirmation = ClerkConfirmation(
            clerk_id=clerk.client_id,
            service_center_id=center_of(clerk),
            passport_series=series,
            passport_number=number,
            snils=snils,
        )
        step = form_step(self._pepper, clerk, form_id, series, number, snils)
        answer = await self._registrations.clerk_confirmation(
            registration_id, confirmation, step_id=step
        )
        verdict = verdict_of(answer)
        log.info(
            "console confirmation by %s: %s",
            clerk.client_id,
            "confirmed" if verdict.confirmed else "refused",
            extra={"client_id": clerk.client_id, "registration_id": registration_id},
        )
        return verdict

    async def day(self, clerk: Principal, now: datetime) -> list[DayEntry]:
        """The work of the clerk's service center today (in `console_timezone`), newest
        first: confirmations in person, and people registered from scratch (each with where
        its registration stands, at the moment it was started); the clerk's own entries are
        `mine`."""
        center = center_of(clerk)
        midnight = datetime.combine(now.astimezone(self._zone).date(), time(0), self._zone)
        lines = await clerk_desk.center_lines(self._engine, center, midnight, DAY_EVENTS)
        entries = []
        for line in lines:
            if line.origin is Origin.SERVICE_CENTER:
                continue  # confirmed as it was registered: its registration's entry says so
            work, outcome = DAY_EVENTS[line.event]
            clerk_id = line.details.get("clerk_id")
            entries.append(
                DayEntry(
                    at=line.recorded_at.astimezone(self._zone),
                    registration_id=line.registration_id,
                    full_name=_full_name(line.surname, line.name, line.patronymic),
                    work=work,
                    outcome=outcome,
                    clerk_id=clerk_id,
                    mine=clerk_id == clerk.client_id,
                    differs=tuple(line.details.get("mismatched") or ()),
                )
            )
        for made in await clerk_desk.center_registrations(self._engine, center, midnight):
            entries.append(
                DayEntry(
                    at=made.created_at.astimezone(self._zone),
                    registration_id=made.registration_id,
                    full_name=_full_name(made.surname, made.name, made.patronymic),
                    work=DeskWork.REGISTRATION,
                    outcome=REGISTRATION_OUTCOMES.get(made.stage, Outcome.AWAITING_CODE),
                    clerk_id=made.clerk_id,
                    mine=made.clerk_id == clerk.client_id,
                )
            )
        return sorted(entries, key=lambda entry: entry.at, reverse=True)

    async def _visible(self, clerk: Principal, registration_id: str) -> DeskRecord:
        records = await clerk_desk.desk_records(self._engine, [registration_id])
        if records and (
            records[0].awaiting
            or await clerk_desk.handled_by_center(self._engine, registration_id, center_of(clerk))
        ):
            return records[0]
        raise RegistrationNotFound(registration_id)

    async def _note(self, clerk: Principal, event: str, **details: object) -> None:
        await note(self._engine, clerk, event, **details)


async def note(engine: AsyncEngine, clerk: Principal, event: str, **details: object) -> None:
    """Put what the clerk did on the clerks' trail (`details`: no personal data)."""
    log.info("console %s by %s", event, clerk.client_id, extra={"client_id": clerk.client_id})
    await clerks.record_event(engine, event, clerk.client_id, clerk.service_center_id, **details)


def check_form_id(problems: Problems, form_id: str) -> None:
    """A form carries the id it was shown with; one without is out of date."""
    if not FORM_ID.fullmatch(form_id):
        problems.add("form_id", "form_id.format", "The form is out of date: open it again")


def form_step(pepper: bytes, clerk: Principal, form_id: str, *typed: str) -> str:
    """The step id of a form the clerk sent: named by the form's id and a keyed digest of what
    was typed, so the same form sent twice (a double click, a reload) is one step, answered
    twice, and the same form sent again with other values (back, correct, send) is another."""
    digest = hmac.new(pepper, "\x1f".join((form_id, *typed)).encode(), hashlib.sha256)
    return f"{clerk.client_id}:console:{digest.hexdigest()[:20]}"


def _full_name(surname: str, name: str, patronymic: str | None) -> str:
    return " ".join(part for part in (surname, name, patronymic) if part)


def center_of(clerk: Principal) -> str:
    """The clerk's service center, in whose name they act."""
    if clerk.service_center_id is None:
        raise ValueError(f"{clerk.actor} belongs to no service center")
    return clerk.service_center_id


def _passport(problems: Problems, series: str, number: str) -> tuple[str, str]:
    """A passport's series and number as read from it: spaces between digits are fine."""
    return (
        check_document_digits(problems, squeezed(series), "passport_series", "Series", 4),
        check_document_digits(problems, squeezed(number), "passport_number", "Number", 6),
    )


def squeezed(typed: str) -> str:
    return "".join(typed.split())


def _card(record: DeskRecord) -> Card:
    contact = Contact(channel=record.channel, address=record.contact)
    return Card(
        registration_id=record.registration_id,
        person=None
        if record.profile is None
        else for_clerk(Profile.model_validate(record.profile), contact),
        status=record.status,
        stage=record.stage,
        awaiting=record.awaiting,
        created_at=record.created_at,
    )
