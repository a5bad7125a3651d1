"""The current details are read long after the workflow wrote them (it rewrites them when
something happens, not when a code runs out): what they say must stay true later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from registration.contact import Channel
from registration.contact_code import CodeState
from registration.journey import Agency, Stage
from registration.policy import Policy
from workflows.details import describe
from workflows.state import RegistrationState

POLICY = Policy()
STARTED = datetime(2026, 11, 20, 9, 42, tzinfo=UTC)
LATER = STARTED + timedelta(hours=3)


def at_contact(code: CodeState) -> RegistrationState:
    return RegistrationState(started_at=STARTED, stage_entered_at=STARTED, code=code)


def test_a_code_says_until_when_it_can_be_entered_never_that_it_is_valid() -> None:
    code = CodeState(
        sequence=1,
        code_hash="0" * 64,
        expires_at=STARTED + POLICY.sms_code_ttl,
        attempts_left=3,
        sent_at=[STARTED],
    )

    details = describe(at_contact(code), Channel.SMS, POLICY, STARTED)

    assert "code 1 sent 2026-11-20 09:42 UTC, can be entered until 2026-11-20 09:47 UTC" in details
    assert "valid" not in details
    assert describe(at_contact(code), Channel.SMS, POLICY, LATER) == details


def test_a_first_code_on_its_way_is_not_reported_as_a_gateway_failure() -> None:
    details = describe(at_contact(CodeState()), Channel.SMS, POLICY, STARTED)

    assert "the first code is being sent" in details
    assert "gateway" not in details and "failed" not in details


def test_a_first_code_that_could_not_be_sent_says_so_and_when() -> None:
    code = CodeState(send_failed_at=STARTED + timedelta(seconds=30))

    details = describe(at_contact(code), Channel.SMS, POLICY, LATER)

    assert "sending the first failed at 2026-11-20 09:42 UTC" in details
    assert "the citizen can request one" in details


def test_a_lock_names_its_end_rather_than_saying_it_holds() -> None:
    code = CodeState(sequence=1, locked_until=STARTED + timedelta(minutes=10))

    details = describe(at_contact(code), Channel.SMS, POLICY, STARTED)

    assert "Code entry locked until 2026-11-20 09:52 UTC after wrong codes." in details
    assert " is locked" not in details


def test_a_wait_on_an_agency_reads_the_same_hours_later() -> None:
    state = RegistrationState(
        started_at=STARTED,
        stage_entered_at=STARTED,
        stage=Stage.VERIFICATION,
        profile_version=1,
        pending_checks=[Agency.PENSION_FUND],
        pending_since=STARTED,
        verification_deadline=STARTED + timedelta(days=10),
    )

    details = describe(state, Channel.SMS, POLICY, STARTED)

    assert "Gives up at 2026-11-30 09:42 UTC;" in details
    assert describe(state, Channel.SMS, POLICY, LATER) == details
