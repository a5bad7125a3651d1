from __future__ import annotations

import re
import socket
import time
from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from activities.agencies import AgencyActivities
from activities.fns import FnsClient
from activities.http import HttpClient
from activities.mvd import MvdClient
from activities.pension_fund import PensionFundClient
from registration.activity_messages import AgencyCheck, CheckResult, InnResult
from registration.errors import AGENCY_ANSWER_PENDING, AGENCY_REQUEST_REJECTED, TRANSIENT_FAULT
from registration.journey import Agency
from registration.person import Gender, Profile
from settings import Settings
from simulators import ManualClock
from simulators.control import SimulatorControl

# Valid SNILS check digits; the first nine digits pick the simulators' outcome.
SNILS = "11223344595"
SNILS_MISMATCH = "12345666654"  # ...666
SNILS_SILENT = "12345699972"  # ...999
SNILS_WITHOUT_INN = "12345600018"  # ...000


def profile(**changes: Any) -> Profile:
    fields: dict[str, Any] = {
        "surname": "Иванова",
        "name": "Мария",
        "patronymic": "Петровна",
        "gender": Gender.FEMALE,
        "birth_date": date(1990, 5, 17),
        "birth_place": "г. Москва",
        "passport_series": "4510",
        "passport_number": "123456",
        "passport_issue_date": date(2010, 6, 1),
        "passport_issuer": "ОВД Тверского района г. Москвы",
        "division_code": "770-001",
        "snils": SNILS,
    }
    return Profile(**(fields | changes))


def check(registration_id: str, **changes: Any) -> AgencyCheck:
    return AgencyCheck(request_key=f"{registration_id}:check:1", profile=profile(**changes))


@pytest.fixture
def agencies(settings: Settings, http: HttpClient) -> AgencyActivities:
    return AgencyActivities(
        PensionFundClient(settings.party_url("pension_fund"), http),
        MvdClient(settings.party_url("mvd"), http),
        FnsClient(settings.party_url("fns"), http),
    )


async def answer_after_delay(
    env: ActivityEnvironment, activity: Any, request: AgencyCheck, clock: ManualClock
) -> Any:
    """Run the activity as Temporal would: once while the agency thinks, once after."""
    with pytest.raises(ApplicationError) as pending:
        await env.run(activity, request)
    assert pending.value.type == AGENCY_ANSWER_PENDING
    clock.advance(60)  # past every agency's answer delay
    return await env.run(activity, request)


async def test_unanswered_check_is_a_benign_retryable_pending_error(
    env: ActivityEnvironment, agencies: AgencyActivities, registration_id: str
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_pension_fund, check(registration_id))

    assert failure.value.type == AGENCY_ANSWER_PENDING
    assert failure.value.category == ApplicationErrorCategory.BENIGN
    assert not failure.value.non_retryable


@pytest.mark.parametrize(
    ("activity", "agency"),
    [("check_pension_fund", Agency.PENSION_FUND), ("check_passport", Agency.MVD)],
)
async def test_matching_data_is_confirmed_once_the_agency_answers(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    clock: ManualClock,
    registration_id: str,
    activity: str,
    agency: Agency,
) -> None:
    result = await answer_after_delay(
        env, getattr(agencies, activity), check(registration_id), clock
    )

    assert result == CheckResult(agency=agency, matched=True)
    counts = (await control.counts())[agency.value.replace("_", "-")]
    assert (counts.distinct, counts.duplicates) == (1, 1)  # resubmitting did not ask twice


@pytest.mark.parametrize(
    ("activity", "changes", "expected"),
    [
        pytest.param(
            "check_pension_fund",
            {"snils": SNILS_MISMATCH},
            CheckResult(
                agency=Agency.PENSION_FUND,
                matched=False,
                reason_code="snils_mismatch",
                reason="SNILS does not belong to this person",
            ),
            id="pension_fund",
        ),
        pytest.param(
            "check_passport",
            {"passport_number": "123666"},
            CheckResult(
                agency=Agency.MVD,
                matched=False,
                reason_code="passport_invalid",
                reason="Passport is not valid (reported lost or replaced)",
            ),
            id="mvd",
        ),
    ],
)
async def test_mismatch_is_an_answer_not_a_failure(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    clock: ManualClock,
    registration_id: str,
    activity: str,
    changes: dict[str, str],
    expected: CheckResult,
) -> None:
    request = check(registration_id, **changes)

    result = await answer_after_delay(env, getattr(agencies, activity), request, clock)

    assert result == expected


@pytest.mark.parametrize(
    ("activity", "changes"),
    [
        ("check_pension_fund", {"snils": SNILS_SILENT}),
        ("check_passport", {"passport_number": "123999"}),
    ],
)
async def test_silent_agency_stays_pending_however_long_we_wait(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    clock: ManualClock,
    registration_id: str,
    activity: str,
    changes: dict[str, str],
) -> None:
    request = check(registration_id, **changes)
    with pytest.raises(ApplicationError):
        await env.run(getattr(agencies, activity), request)
    clock.advance(10 * 24 * 3600)  # the workflow's whole verification deadline

    with pytest.raises(ApplicationError) as failure:
        await env.run(getattr(agencies, activity), request)

    assert failure.value.type == AGENCY_ANSWER_PENDING


async def test_fns_finds_the_persons_inn(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    registration_id: str,
) -> None:
    await control.configure(fns_delay_seconds=0)

    result = await env.run(agencies.lookup_inn, check(registration_id))

    assert result.found
    assert result.inn is not None and re.fullmatch(r"\d{12}", result.inn)


async def test_fns_without_an_inn_answers_not_found(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    registration_id: str,
) -> None:
    await control.configure(fns_delay_seconds=0)

    result = await env.run(agencies.lookup_inn, check(registration_id, snils=SNILS_WITHOUT_INN))

    assert result == InnResult(found=False)


async def test_agency_heartbeats_between_its_http_calls(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    heartbeats: list[tuple[Any, ...]],
    registration_id: str,
) -> None:
    await control.configure(mvd_delay_seconds=0)

    await env.run(agencies.check_passport, check(registration_id))

    assert len(heartbeats) == 2


async def test_agency_error_is_a_transient_fault(
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    registration_id: str,
) -> None:
    await control.inject_fault("pension-fund", "error_500")

    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_pension_fund, check(registration_id))

    assert failure.value.type == TRANSIENT_FAULT
    assert not failure.value.non_retryable


async def test_agency_timeout_is_a_transient_fault_within_the_deadline(
    settings: Settings,
    env: ActivityEnvironment,
    agencies: AgencyActivities,
    control: SimulatorControl,
    registration_id: str,
) -> None:
    deadline = settings.http_timeout_seconds
    await control.inject_fault("mvd", "timeout", delay_seconds=deadline * 3)

    started = time.monotonic()
    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_passport, check(registration_id))

    assert failure.value.type == TRANSIENT_FAULT
    assert time.monotonic() - started < deadline * 2


async def test_unreachable_agency_is_a_transient_fault(
    env: ActivityEnvironment, http: HttpClient, registration_id: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # nothing listens here once the block ends
    client = PensionFundClient(f"http://127.0.0.1:{port}/pension-fund", http)
    agencies = AgencyActivities(client, MvdClient("", http), FnsClient("", http))

    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_pension_fund, check(registration_id))

    assert failure.value.type == TRANSIENT_FAULT


async def test_request_the_agency_refuses_is_rejected_for_good_without_personal_data(
    env: ActivityEnvironment, agencies: AgencyActivities, registration_id: str
) -> None:
    malformed = check(registration_id, snils="123-45")

    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_pension_fund, malformed)

    assert failure.value.type == AGENCY_REQUEST_REJECTED
    assert failure.value.non_retryable
    assert "snils" in str(failure.value)
    assert "123-45" not in str(failure.value)


async def test_reusing_a_request_key_for_changed_data_is_rejected(
    env: ActivityEnvironment, agencies: AgencyActivities, registration_id: str
) -> None:
    with pytest.raises(ApplicationError):
        await env.run(agencies.check_passport, check(registration_id))

    with pytest.raises(ApplicationError) as failure:
        await env.run(agencies.check_passport, check(registration_id, surname="Петрова"))

    assert failure.value.type == AGENCY_REQUEST_REJECTED
