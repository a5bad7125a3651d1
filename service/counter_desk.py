"""Registering a person from scratch at a service-center counter, as a clerk's desk does it.

A person with a passport and a SNILS and no online registration comes to the counter. The
clerk types the profile from the documents and the person's phone (or e-mail) into one form
(`register`); the citizen reads out the code the phone received (`enter_code`, `new_code`);
the agencies check the profile while the clerk's screen says so (`card`); after a mismatch the
clerk corrects the profile from the documents (`correction`, `correct`); once the agencies
agree the account is confirmed and the citizen gets a link to set their own password. Every
step goes through `Registrations`, which applies the API's limits, and the workflow, which
takes a counter registration's steps from a clerk of its center only.

What a clerk may see: a registration their own service center started at its counter; any
other is `RegistrationNotFound`, as an unknown id is. Of the person the desk shows what
`registration.masking.for_clerk` leaves, but for the correction form, which holds the whole
profile as the center's clerks entered it (they hold the documents it came from).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal
from registration.checks import Problems
from registration.codes import Purpose, validate_code_input
from registration.contact import Channel, Contact, check_email, check_phone
from registration.errors import FieldError, InvalidInput, StepRefused
from registration.journey import Agency, Origin, Stage
from registration.masking import PersonForClerk, for_clerk
from registration.messages import CodeSentView, CodeVerdict, CounterClerk, RegistrationView
from registration.person import Gender, Profile, validate_profile
from service.clerk_desk import center_of, check_form_id, form_step, note, squeezed
from service.limits import Caller
from service.registrations import CounterStarted, Registrations
from settings import Settings
from store import repository
from store.repository import RegistrationNotFound, RegistrationRecord
from store.schema import RegistrationStatus

log = logging.getLogger(__name__)

CODE_WAIT, CODE_WAIT_LOOKS = timedelta(seconds=5), 50
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
"""How a date may be typed: as Russian documents print it, or as ISO 8601."""
SHOWN_DATE = "%d.%m.%Y"


@dataclass(frozen=True)
class CounterForm:
    """The registration form as the clerk typed it: the profile from the passport and the
    SNILS, and the citizen's contact (the phone, or an e-mail address; with both, the code
    goes by SMS)."""

    surname: str = ""
    name: str = ""
    patronymic: str = ""
    gender: str = ""
    birth_date: str = ""
    birth_place: str = ""
    citizenship: str = "RUS"
    passport_series: str = ""
    passport_number: str = ""
    passport_issue_date: str = ""
    passport_issuer: str = ""
    division_code: str = ""
    snils: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def of(cls, profile: Profile) -> CounterForm:
        """The form filled with `profile` (no contact: a correction keeps the contact)."""
        return cls(
            **{
                name: profile_value(getattr(profile, name))
                for name in PROFILE_FIELDS
                if name not in DATE_FIELDS
            },
            **{name: f"{getattr(profile, name):{SHOWN_DATE}}" for name in DATE_FIELDS},
        )


def profile_value(value: object) -> str:
    return "" if value is None else str(value)


FORM_FIELDS = tuple(f.name for f in fields(CounterForm))
CONTACT_FIELDS = ("phone", "email")
PROFILE_FIELDS = tuple(name for name in FORM_FIELDS if name not in CONTACT_FIELDS)
DATE_FIELDS = ("birth_date", "passport_issue_date")


def read_profile(form: CounterForm, today: date) -> Profile:
    """The profile the form holds, normalised (`registration.person.validate_profile`), or
    `InvalidInput` naming every field typed wrong, the form's own (a date that is no date, no
    gender chosen) first. Spaces inside the passport's digits are dropped, as read from it."""
    problems = Problems()
    dates = {name: _date(problems, getattr(form, name), name) for name in DATE_FIELDS}
    try:
        gender = Gender(form.gender)
    except ValueError:
        problems.add("gender", "gender.required", "Choose the gender")
        gender = Gender.FEMALE
    typed = Profile(
        surname=form.surname,
        name=form.name,
        patronymic=form.patronymic,
        gender=gender,
        birth_date=dates["birth_date"] or date(1970, 1, 1),
        birth_place=form.birth_place,
        citizenship=form.citizenship,
        passport_series=squeezed(form.passport_series),
        passport_number=squeezed(form.passport_number),
        passport_issue_date=dates["passport_issue_date"] or date(2000, 1, 1),
        passport_issuer=form.passport_issuer,
        division_code=form.division_code,
        snils=form.snils,
    )
    try:
        checked = validate_profile(typed, today)
    except InvalidInput as invalid:
        seen = {error.field for error in problems.errors}
        # A placeholder for a date typed wrong must not add rules of its own.
        problems.errors += [error for error in invalid.errors if error.field not in seen]
        raise InvalidInput(_in_form_order(problems.errors)) from None
    if problems.errors:
        raise InvalidInput(_in_form_order(problems.errors))
    return checked


def _profile_of(problems: Problems, form: CounterForm) -> Profile | None:
    """The form's profile, or None with its errors added to `problems`."""
    try:
        return read_profile(form, datetime.now(UTC).date())
    except InvalidInput as invalid:
        problems.errors += invalid.errors
        return None


def _date(problems: Problems, typed: str, field: str) -> date | None:
    text = typed.strip()
    if not text:
        problems.add(field, "date.required", "Enter the date")
        return None
    for layout in DATE_FORMATS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    problems.add(field, "date.format", "Enter the date as DD.MM.YYYY")
    return None


def _check_contact(problems: Problems, form: CounterForm) -> None:
    """The contact's rules, said at the form's fields before anything is sent (the service
    checks them again)."""
    if form.phone.strip():
        check_phone(problems, form.phone, "phone")
    if form.email.strip():
        check_email(problems, form.email, "email")
    if not form.phone.strip() and not form.email.strip():
        problems.add("phone", "contact.required", "Enter a mobile phone number or an e-mail")


def _in_form_order(errors: list[FieldError]) -> list[FieldError]:
    order = {name: index for index, name in enumerate(FORM_FIELDS)}
    return sorted(errors, key=lambda error: order.get(error.field, len(order)))


@dataclass(frozen=True)
class Mismatch:
    """Why the agencies sent the registration back: which agency, and its reason code."""

    agency: Agency | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class CounterCard:
    """A registration made at the counter, as its center's clerks see it."""

    registration_id: str
    status: RegistrationStatus
    stage: Stage
    channel: Channel
    person: PersonForClerk | None
    """None when the profile cannot be read any more (a long-closed registration)."""
    view: RegistrationView | None
    """The workflow's state while the registration is open; None once it has closed."""
    mismatch: Mismatch | None
    created_at: datetime
    clerk_id: str | None
    """The clerk who started it."""


class CounterDesk:
    def __init__(self, registrations: Registrations, engine: AsyncEngine, settings: Settings):
        self._registrations = registrations
        self._engine = engine
        self._pepper = settings.token_pepper_bytes

    async def register(self, clerk: Principal, form: CounterForm) -> CounterStarted:
        """Start the registration of the person the form describes, and send the code to
        their contact; or take up the one this center is making for that contact already
        (`created` False). Raises `InvalidInput` naming every field typed wrong (nothing is
        sent), and what `Registrations.register_at_counter` refuses: a contact with an
        account (`ALREADY_FINISHED`), one registering online or at another center
        (`REGISTRATION_IN_PROGRESS`, with its `stage`), a limit (`RATE_LIMITED`)."""
        problems = Problems()
        profile = _profile_of(problems, form)
        _check_contact(problems, form)
        if profile is None or problems.errors:
            raise InvalidInput(_in_form_order(problems.errors))
        started = await self._registrations.register_at_counter(
            _counter_clerk(clerk),
            profile,
            phone=form.phone or None,
            email=form.email or None,
            caller=Caller(client_id=clerk.client_id),
        )
        await note(
            self._engine,
            clerk,
            "registered" if started.created else "registration_resumed",
            registration_id=started.registration_id,
        )
        await self._code_sent(started.registration_id)
        return started

    async def _code_sent(self, registration_id: str) -> None:
        """Wait a moment for the workflow to write its row and send the first code, so that
        the registration's page, opened next, shows the code's expiry and attempts."""
        if await self._registrations.opened_row(registration_id) is None:
            return
        for _ in range(CODE_WAIT_LOOKS):
            view = await self._registrations.state(registration_id)
            if view.stage is not Stage.CONTACT or view.code_expires_at is not None:
                return
            await asyncio.sleep(CODE_WAIT.total_seconds() / CODE_WAIT_LOOKS)

    async def card(self, clerk: Principal, registration_id: str) -> CounterCard:
        """The registration, if the clerk's center made it; else `RegistrationNotFound`."""
        record = await self._own(clerk, registration_id)
        open_ = record.status is RegistrationStatus.OPEN
        view = await self._registrations.state(registration_id) if open_ else None
        stage = view.stage if view is not None else record.stage
        rejection = view.last_rejection if view is not None else None
        mismatch = None
        if view is not None and view.stage is Stage.PROFILE and rejection is not None:
            mismatch = Mismatch(agency=rejection.agency, reason=rejection.code, at=rejection.at)
        await note(self._engine, clerk, "viewed", registration_id=registration_id)
        return CounterCard(
            registration_id=registration_id,
            status=record.status,
            stage=stage,
            channel=record.channel,
            person=await self._person(record),
            view=view,
            mismatch=mismatch,
            created_at=record.created_at,
            clerk_id=record.clerk_id,
        )

    async def correction(self, clerk: Principal, registration_id: str) -> CounterForm:
        """The correction form, filled with the profile as the center's clerks last entered
        it (they hold the documents to compare it with)."""
        await self._own(clerk, registration_id)
        profile = await self._registrations.counter_profile(registration_id)
        return CounterForm() if profile is None else CounterForm.of(profile)

    async def enter_code(
        self, clerk: Principal, registration_id: str, code: str, form_id: str
    ) -> CodeVerdict:
        """Judge the code the citizen read out: accepted (the checks start), or wrong with
        the attempts left. A form sent twice with one code is one step. Raises
        `InvalidInput` for a code typed wrong (nothing is sent, nothing counted)."""
        record = await self._own(clerk, registration_id)
        purpose = Purpose.SMS if record.channel is Channel.SMS else Purpose.EMAIL
        problems = Problems()
        check_form_id(problems, form_id)
        problems.raise_if_any()
        typed = validate_code_input(purpose, code)
        return await self._registrations.submit_contact_code(
            registration_id,
            typed,
            step_id=form_step(self._pepper, clerk, form_id, "code", typed),
            caller=Caller(client_id=clerk.client_id),
            counter=_counter_clerk(clerk),
        )

    async def new_code(self, clerk: Principal, registration_id: str, form_id: str) -> CodeSentView:
        """Send the citizen a new code (the old one stops working), within the cooldown and
        the caps of the registration and of the contact."""
        await self._own(clerk, registration_id)
        problems = Problems()
        check_form_id(problems, form_id)
        problems.raise_if_any()
        return await self._registrations.request_new_code(
            registration_id,
            step_id=form_step(self._pepper, clerk, form_id, "new-code"),
            counter=_counter_clerk(clerk),
        )

    async def correct(
        self, clerk: Principal, registration_id: str, form: CounterForm, form_id: str
    ) -> Stage:
        """Send the corrected profile to the agencies again; the stage it leads to. A form
        sent twice with the same profile is one step. Raises `InvalidInput` naming every
        field typed wrong (nothing is sent)."""
        await self._own(clerk, registration_id)
        problems = Problems()
        check_form_id(problems, form_id)
        profile = _profile_of(problems, form)
        if profile is None or problems.errors:
            raise InvalidInput(_in_form_order(problems.errors))
        done = await self._registrations.submit_profile(
            registration_id,
            profile,
            step_id=form_step(self._pepper, clerk, form_id, "profile", profile.model_dump_json()),
            counter=_counter_clerk(clerk),
        )
        return done.stage

    async def _own(self, clerk: Principal, registration_id: str) -> RegistrationRecord:
        """The registration's row, if the clerk's center made it at its counter."""
        record = await repository.get_registration(self._engine, registration_id)
        if (
            record is None
            or record.origin is not Origin.SERVICE_CENTER
            or record.service_center_id != center_of(clerk)
        ):
            raise RegistrationNotFound(registration_id)
        return record

    async def _person(self, record: RegistrationRecord) -> PersonForClerk | None:
        """The person, masked: from the verified profile once there is one, else from the
        profile the clerks entered."""
        contact = Contact(channel=record.channel, address=record.contact)
        account = await repository.get_account_for_registration(
            self._engine, record.registration_id
        )
        if account is not None and account.profile is not None:
            return for_clerk(Profile.model_validate(account.profile), contact)
        try:
            profile = await self._registrations.counter_profile(record.registration_id)
        except (RegistrationNotFound, StepRefused):  # closed, and its history gone
            return None
        return None if profile is None else for_clerk(profile, contact)


def _counter_clerk(clerk: Principal) -> CounterClerk:
    """The clerk as the workflow knows them: their id and the center they act for."""
    return CounterClerk(clerk_id=clerk.client_id, service_center_id=center_of(clerk))
