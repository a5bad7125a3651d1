"""Clerks with console accounts, and the people they confirm, for the tests of signing in, of
the clerk's desk and of the console: each test makes its own clerk (a fresh login, knowing the
password and the TOTP secret as the clerk would), in a service center of its own when it
looks at the center's day, and citizens with documents nobody else has."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.journey import Stage
from registration.person import Profile
from service import clerk_accounts
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from tests.data import new_phone
from tests.journeys import walk

CLERK_PASSWORD = "Okno-Kassa#2024"
CENTER = "mfc-77-001"
OTHER_CENTER = "mfc-50-002"


@dataclass(frozen=True)
class Clerk:
    account_id: str
    login: str
    name: str
    service_center_id: str
    password: str
    totp_secret: str

    def code(self, steps_ahead: int = 0) -> str:
        """The code the clerk's authenticator app shows now, or `steps_ahead` 30-second steps
        later (each code signs in once: a second sign-in in one step needs the next one)."""
        generator = clerk_accounts.totp(self.totp_secret)
        return generator.generate_otp(generator.timecode(datetime.now(UTC)) + steps_ahead)


async def new_clerk(
    engine: AsyncEngine, settings: Settings, *, center: str = CENTER, name: str = "Анна Петрова"
) -> Clerk:
    login = f"clerk-{uuid.uuid4().hex[:10]}"
    enrolment = await clerk_accounts.create_clerk(
        engine,
        settings.token_pepper_bytes,
        login=login,
        name=name,
        service_center_id=center,
        password=CLERK_PASSWORD,
    )
    return Clerk(
        account_id=enrolment.account_id,
        login=login,
        name=name,
        service_center_id=center,
        password=CLERK_PASSWORD,
        totp_secret=enrolment.totp_secret,
    )


def new_center() -> str:
    """A service center no other test works for, so its day shows this test's work only."""
    return f"mfc-77-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Applicant:
    """A citizen registering, with documents nobody else has."""

    registration_id: str
    phone: str
    profile: Profile


async def applicant(
    registrations: Registrations, outbox: SimulatorControl, stage: Stage = Stage.IDENTITY
) -> Applicant:
    """A new citizen walked to `stage` (by default: awaiting identity confirmation)."""
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    phone = new_phone()
    rid = await walk(registrations, outbox, stage, phone=phone, profile=profile)
    return Applicant(registration_id=rid, phone=phone, profile=profile)
