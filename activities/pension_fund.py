"""The Pension Fund (SFR): does this SNILS belong to this person? Answers later, by request id."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from activities.http import CheckAnswer, PartyClient
from registration.person import Profile


class SnilsCheck(BaseModel):
    request_key: str
    snils: str
    surname: str
    name: str
    patronymic: str | None
    birth_date: date


class PensionFundClient(PartyClient):
    party = "Pension Fund"

    async def submit(self, request_key: str, profile: Profile) -> str:
        """Ask for a check; the same `request_key` is the same request. Returns its id."""
        return await self._submit_profile("/checks", SnilsCheck, request_key, profile)

    async def answer(self, request_id: str) -> CheckAnswer:
        return await self._get(f"/checks/{request_id}", CheckAnswer)
