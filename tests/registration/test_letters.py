"""The registered letter's rules, without a Temporal server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registration import letters
from registration.errors import Refusal, StepRefused
from registration.letters import LetterEvent, LetterState
from registration.policy import Policy
from tests.data import ADDRESS

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = Policy()
RIGHT, WRONG = "a" * 64, "b" * 64


def ordered(at: datetime = NOW) -> LetterState:
    letter = LetterState()
    letters.record_order(letter, 1, ADDRESS, "10000000000001", RIGHT, at, POLICY)
    return letter


def refusal(call: object) -> StepRefused:
    assert callable(call)
    with pytest.raises(StepRefused) as refused:
        call()
    return refused.value


def test_an_order_needs_an_address_and_says_which_field() -> None:
    refused = refusal(lambda: letters.check_order(LetterState(), None, NOW, POLICY))
    assert refused.code is Refusal.INVALID_INPUT
    assert [error.field for error in refused.errors] == ["address"]


def test_orders_are_a_day_apart_and_a_few_a_month() -> None:
    letter = ordered()
    refused = refusal(
        lambda: letters.check_order(letter, ADDRESS, NOW + timedelta(hours=1), POLICY)
    )
    assert refused.code is Refusal.LETTER_REORDER_TOO_SOON
    at = NOW
    for sequence in range(2, POLICY.letter_orders_per_window + 1):
        at += POLICY.letter_reorder_gap
        letters.record_order(
            letter, sequence, ADDRESS, f"1000000000000{sequence}", RIGHT, at, POLICY
        )
    later = at + POLICY.letter_reorder_gap
    limited = refusal(lambda: letters.check_order(letter, ADDRESS, later, POLICY))
    assert limited.code is Refusal.LETTER_REORDER_LIMIT
    allowed = NOW + POLICY.letter_order_window  # when the first order leaves the window
    assert limited.details["retry_at"] == allowed.isoformat()
    assert f"after {allowed:%Y-%m-%d %H:%M} UTC" in limited.message
    letters.check_order(letter, ADDRESS, allowed + timedelta(seconds=1), POLICY)


def test_wrong_letter_codes_lock_entry_for_a_while() -> None:
    letter = ordered()
    verdicts = [
        letters.judge(letter, WRONG, NOW, POLICY)
        for _ in range(POLICY.letter_wrong_codes_before_lock)
    ]
    assert verdicts[-1].locked_until == NOW + POLICY.letter_lock_duration
    assert [v.locked_until is None for v in verdicts[:-1]] == [True] * (len(verdicts) - 1)
    assert refusal(lambda: letters.check_entry(letter, RIGHT, NOW)).code is Refusal.LOCKED
    assert letters.judge(letter, RIGHT, NOW + POLICY.letter_lock_duration, POLICY).accepted


def test_the_next_event_is_tracking_then_reminder_then_expiry() -> None:
    letter = ordered()
    assert letters.next_event(letter) == (NOW + POLICY.letter_tracking_interval, LetterEvent.TRACK)
    letter.next_tracking_at = None
    assert letters.next_event(letter) == (NOW + POLICY.letter_reminder_after, LetterEvent.REMIND)
    letter.reminder_due_at = None
    assert letters.next_event(letter) == (NOW + POLICY.letter_code_ttl, LetterEvent.EXPIRE)


def test_an_expired_letter_code_says_it_expired() -> None:
    letter = ordered()
    letters.expire(letter, NOW + POLICY.letter_code_ttl)
    assert letters.next_event(letter) == (None, None)
    refused = refusal(lambda: letters.check_entry(letter, RIGHT, NOW + POLICY.letter_code_ttl))
    assert refused.code is Refusal.CODE_EXPIRED
    assert refusal(lambda: letters.check_entry(LetterState(), RIGHT, NOW)).code is (
        Refusal.NO_ACTIVE_CODE
    )
