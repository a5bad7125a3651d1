"""The tax service (FNS): what is this person's INN? Answers later, by request id."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, model_validator

from activities.http import AgencyAnswer, PartyClient
from registration.person import Profile


class InnRequest(BaseModel):
    request_key: str
    snils: str
    surname: str
    name: str
    patronymic: str | None
    birth_date: date
    passport_series: str
    passport_number: str


class InnAnswer(AgencyAnswer):
    found: bool | None = None
    inn: str | None = None

    @model_validator(mode="after")
    def _done_says_whether_found(self) -> InnAnswer:
        if not self.pending and (self.found is None or (self.found and not self.inn)):
            raise ValueError("a finished lookup must say whether an INN was found, and which")
        return self


class FnsClient(PartyClient):
    party = "FNS"

    async def submit(self, request_key: str, profile: Profile) -> str:
        """Ask for the INN; the same `request_key` is the same request. Returns its id."""
        return await self._submit_profile("/inn-requests", InnRequest, request_key, profile)

    async def answer(self, request_id: str) -> InnAnswer:
        return await self._get(f"/inn-requests/{request_id}", InnAnswer)
