"""Automatic verification: the Pension Fund, the MVD and FNS, asked over HTTP.

An agency answers later. Each activity attempt (re)submits the request — idempotent by its
`request_key` — and reads the answer once; while there is none it fails with the benign,
retryable AGENCY_ANSWER_PENDING, so that the workflow's retry policy is the polling schedule
(backoff 10 s → 1 h, deadline 10 days) and no worker slot is held while an agency thinks.
Each attempt is counted by its outcome, and an answer with the time and attempts it took
(`metrics.journey`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.fns import FnsClient
from activities.http import AgencyAnswer
from activities.mvd import MvdClient
from activities.pension_fund import PensionFundClient
from metrics import journey
from registration.activity_messages import AgencyCheck, CheckResult, InnResult
from registration.errors import AGENCY_ANSWER_PENDING
from registration.journey import Agency
from registration.person import Profile

A = TypeVar("A", bound=AgencyAnswer, covariant=True)


class AgencyApi(Protocol[A]):
    party: str

    async def submit(self, request_key: str, profile: Profile) -> str: ...

    async def answer(self, request_id: str) -> A: ...


async def ask(agency: Agency, api: AgencyApi[A], check: AgencyCheck) -> A:
    """The agency's answer to `check`; raises AGENCY_ANSWER_PENDING while it has none."""
    try:
        request_id = await api.submit(check.request_key, check.profile)
        activity.heartbeat("submitted")
        answer = await api.answer(request_id)
        activity.heartbeat("read")
    except Exception:
        journey.agency_attempt(agency, "failed")
        raise
    if answer.pending:
        journey.agency_attempt(agency, "pending")
        activity.logger.debug("%s: request %s still pending", api.party, check.request_key)
        raise ApplicationError(
            f"{api.party} has not answered yet",
            type=AGENCY_ANSWER_PENDING,
            category=ApplicationErrorCategory.BENIGN,
        )
    return answer


def answered(agency: Agency, outcome: str) -> None:
    """Count the agency's answer with the time since the check was first asked (this
    activity's first schedule) and the attempts it took."""
    info = activity.info()
    waited = (datetime.now(UTC) - info.scheduled_time).total_seconds()
    journey.agency_answered(agency, outcome, waited, info.attempt)


class AgencyActivities:
    """Activities asking the agencies; construct once with their clients."""

    def __init__(self, pension_fund: PensionFundClient, mvd: MvdClient, fns: FnsClient) -> None:
        self._pension_fund = pension_fund
        self._mvd = mvd
        self._fns = fns

    @activity.defn(name="check_pension_fund")
    async def check_pension_fund(self, check: AgencyCheck) -> CheckResult:
        """Does the SNILS belong to this person (name, birth date)? A mismatch is an answer."""
        return await self._check(Agency.PENSION_FUND, self._pension_fund, check)

    @activity.defn(name="check_passport")
    async def check_passport(self, check: AgencyCheck) -> CheckResult:
        """Is the passport valid and this person's? A mismatch is an answer."""
        return await self._check(Agency.MVD, self._mvd, check)

    @activity.defn(name="lookup_inn")
    async def lookup_inn(self, check: AgencyCheck) -> InnResult:
        """The person's INN, or found=False when FNS has none."""
        answer = await ask(Agency.FNS, self._fns, check)
        answered(Agency.FNS, "found" if answer.found else "not_found")
        activity.logger.info("FNS: request %s found=%s", check.request_key, answer.found)
        return InnResult(found=answer.found is True, inn=answer.inn if answer.found else None)

    @staticmethod
    async def _check(
        agency: Agency, client: PensionFundClient | MvdClient, check: AgencyCheck
    ) -> CheckResult:
        answer = await ask(agency, client, check)
        answered(agency, "match" if answer.matched else "mismatch")
        activity.logger.info(
            "%s: request %s matched=%s reason_code=%s",
            client.party,
            check.request_key,
            answer.matched,
            answer.reason_code,
        )
        return CheckResult(
            agency=agency,
            matched=answer.matched is True,
            reason_code=answer.reason_code,
            reason=answer.reason,
        )
