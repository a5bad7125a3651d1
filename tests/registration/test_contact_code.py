"""The contact code's rules, without a Temporal server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registration import contact_code
from registration.contact_code import CodeState
from registration.errors import Refusal, StepRefused
from registration.policy import Policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = Policy()
RIGHT, WRONG = "a" * 64, "b" * 64


def sent(at: datetime = NOW, **changes: object) -> CodeState:
    code = CodeState()
    contact_code.record_send(code, 1, RIGHT, POLICY.sms_code_ttl, at, POLICY)
    return code.model_copy(update=changes)


def refusal(call: object) -> StepRefused:
    assert callable(call)
    with pytest.raises(StepRefused) as refused:
        call()
    return refused.value


def test_the_right_code_is_accepted_once() -> None:
    code = sent()
    assert contact_code.judge(code, RIGHT, NOW, POLICY).accepted
    assert code.code_hash is None
    assert (
        refusal(lambda: contact_code.check_entry(code, RIGHT, NOW)).code is Refusal.NO_ACTIVE_CODE
    )


def test_wrong_codes_cost_attempts_and_the_last_burns_the_code() -> None:
    code = sent()
    verdicts = [
        contact_code.judge(code, WRONG, NOW, POLICY) for _ in range(POLICY.attempts_per_code)
    ]
    assert [v.attempts_left for v in verdicts] == [2, 1, 0]
    assert [v.burnt for v in verdicts] == [False, False, True]
    assert code.code_hash is None


def test_wrong_codes_in_a_row_across_codes_lock_entry() -> None:
    code, verdicts = sent(), []
    for sequence in range(1, 5):
        contact_code.record_send(code, sequence, RIGHT, POLICY.sms_code_ttl, NOW, POLICY)
        while code.code_hash is not None:
            verdicts.append(contact_code.judge(code, WRONG, NOW, POLICY))
    locked = [v for v in verdicts if v.locked_until is not None]
    assert len(verdicts) >= POLICY.failures_before_lock and len(locked) == 1
    assert locked[0].locked_until == NOW + POLICY.lock_duration
    refused = refusal(lambda: contact_code.check_entry(code, RIGHT, NOW + timedelta(minutes=1)))
    assert refused.code is Refusal.LOCKED


def test_an_expired_code_says_so() -> None:
    code = sent()
    later = NOW + POLICY.sms_code_ttl
    assert (
        refusal(lambda: contact_code.check_entry(code, RIGHT, later)).code is Refusal.CODE_EXPIRED
    )


def test_a_malformed_hash_is_invalid_input() -> None:
    assert (
        refusal(lambda: contact_code.check_entry(sent(), "123456", NOW)).code
        is Refusal.INVALID_INPUT
    )


def test_a_new_code_waits_for_the_cooldown() -> None:
    code = sent()
    refused = refusal(
        lambda: contact_code.check_send(code, NOW, NOW + timedelta(seconds=5), POLICY)
    )
    assert refused.code is Refusal.RESEND_TOO_SOON
    assert refused.details["retry_at"] == (NOW + POLICY.resend_cooldown).isoformat()


@pytest.mark.parametrize(
    ("policy", "window"),
    [
        (Policy(resends_per_hour=2, resend_cooldown=timedelta(seconds=1)), timedelta(hours=1)),
        (
            Policy(resends_per_hour=50, resends_per_day=3, resend_cooldown=timedelta(seconds=1)),
            timedelta(days=1),
        ),
    ],
    ids=["hourly", "daily"],
)
def test_a_capped_resend_says_exactly_when_it_is_allowed(policy: Policy, window: timedelta) -> None:
    code, at = CodeState(), NOW
    sends = policy.resends_per_hour if window == timedelta(hours=1) else policy.resends_per_day
    for sequence in range(1, sends + 1):
        contact_code.record_send(code, sequence, RIGHT, policy.sms_code_ttl, at, policy)
        at += timedelta(minutes=1)

    refused = refusal(lambda: contact_code.check_send(code, NOW, at, policy))

    allowed = code.sent_at[-sends] + window
    assert refused.code is Refusal.RESEND_LIMIT
    assert refused.details["retry_at"] == allowed.isoformat()
    contact_code.check_send(code, NOW, allowed + timedelta(seconds=1), policy)  # allowed then
