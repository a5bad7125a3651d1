"""Clerks with console accounts, for the tests of signing in and of the console: each test
makes its own (a fresh login), knowing the password and the TOTP secret as the clerk would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from service import clerk_accounts
from settings import Settings

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
