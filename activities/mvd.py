"""The MVD's migration service: is this passport valid and this person's? Answers later."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from activities.http import CheckAnswer, PartyClient
from registration.person import Profile


class PassportCheck(BaseModel):
    request_key: str
    passport_series: str
    passport_number: str
    passport_issue_date: date
    division_code: str
    surname: str
    name: str
    patronymic: str | None
    birth_date: date


class MvdClient(PartyClient):
    party = "MVD"

    async def submit(self, request_key: str, profile: Profile) -> str:
        """Ask for a check; the same `request_key` is the same request. Returns its id."""
        return await self._submit_profile("/checks", PassportCheck, request_key, profile)

    async def answer(self, request_id: str) -> CheckAnswer:
        return await self._get(f"/checks/{request_id}", CheckAnswer)
