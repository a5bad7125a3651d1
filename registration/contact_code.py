"""The contact code's rules: when a code may be entered, how an entry is judged, and when a
new one may be sent.

The code is an SMS code or an e-mail link's token, held only as its keyed hash. Each code takes
`attempts_per_code` wrong entries before it burns; `failures_before_lock` wrong entries in a row,
across codes, lock entry for `lock_duration`; new codes come no faster than `resend_cooldown`
and within hourly and daily caps (DOMAIN.md; `Policy`). Limits that span registrations are the
store's (`store/sends.py`); these are one registration's.

Pure: functions read and change a `CodeState` and the clock they are given; a step that is
not allowed raises `StepRefused`, having changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from registration.base import Model
from registration.codes import is_code_hash
from registration.errors import Refusal, StepRefused
from registration.policy import Policy


class CodeState(Model):
    """The current contact code, the resend history and the wrong-entry lock."""

    sequence: int = 0
    code_hash: str | None = None
    expires_at: datetime | None = None
    attempts_left: int = 0
    sent_at: list[datetime] = Field(default_factory=list)
    failures: int = 0
    """Wrong entries in a row, across codes: `failures_before_lock` of them lock entry."""
    locked_until: datetime | None = None
    send_failed_at: datetime | None = None
    """When the last try to send a code failed (the gateway, or the contact's budget); None
    once a code has gone out since."""

    def sends_since(self, moment: datetime) -> int:
        return sum(1 for sent in self.sent_at if sent > moment)

    def lock(self, now: datetime) -> datetime | None:
        """Until when entry is locked, if that is still ahead."""
        return (
            self.locked_until if self.locked_until is not None and now < self.locked_until else None
        )


@dataclass(frozen=True)
class Judgement:
    accepted: bool
    attempts_left: int
    burnt: bool = False
    """The code takes no more entries: a new one must be requested."""
    locked_until: datetime | None = None
    """Set when this entry locked code entry."""


def check_unlocked(code: CodeState, now: datetime) -> None:
    locked_until = code.lock(now)
    if locked_until is not None:
        raise StepRefused(
            Refusal.LOCKED,
            f"Too many wrong codes: locked until {locked_until:%H:%M:%S} UTC",
            details={"locked_until": locked_until.isoformat()},
        )


def check_hash(code_hash: str) -> None:
    if not is_code_hash(code_hash):
        raise StepRefused(
            Refusal.INVALID_INPUT, "The code must be sent as its 64-character keyed hash"
        )


def check_entry(code: CodeState, code_hash: str, now: datetime, *, sent: bool = True) -> None:
    """May `code_hash` be judged now? Before the first code is `sent`, only its form and the
    lock are checked (it is judged once the code is out)."""
    check_hash(code_hash)
    check_unlocked(code, now)
    if not sent:
        return
    if code.code_hash is None or code.expires_at is None:
        raise StepRefused(Refusal.NO_ACTIVE_CODE, "There is no active code: request a new one")
    if now >= code.expires_at:
        raise StepRefused(
            Refusal.CODE_EXPIRED,
            "The code has expired: request a new one",
            details={"expired_at": code.expires_at.isoformat()},
        )


def judge(code: CodeState, code_hash: str, now: datetime, policy: Policy) -> Judgement:
    """Judge an entry that `check_entry` let through. The right code is used up; a wrong one
    costs an attempt, and the last attempt, or the last entry before the lock, burns it."""
    if code_hash == code.code_hash:
        code.code_hash = None
        code.failures = 0
        return Judgement(accepted=True, attempts_left=code.attempts_left)
    code.attempts_left -= 1
    code.failures += 1
    burnt = code.attempts_left <= 0
    locked_until = None
    if code.failures >= policy.failures_before_lock:
        code.locked_until = locked_until = now + policy.lock_duration
        code.failures = 0
        burnt = True
    if burnt:
        code.code_hash = None
        code.attempts_left = 0
    return Judgement(
        accepted=False, attempts_left=code.attempts_left, burnt=burnt, locked_until=locked_until
    )


def next_send_allowed_at(code: CodeState, since: datetime, policy: Policy) -> datetime:
    """When a new code may be sent: `since` (the stage's start) if none was sent yet."""
    if not code.sent_at:
        return since
    return code.sent_at[-1] + policy.resend_cooldown


def sends_left_today(code: CodeState, now: datetime, policy: Policy) -> int:
    return max(0, policy.resends_per_day - code.sends_since(now - timedelta(days=1)))


def check_send(code: CodeState, since: datetime, now: datetime, policy: Policy) -> None:
    """May a new code be sent now: the cooldown, then the hourly and daily caps."""
    allowed_at = next_send_allowed_at(code, since, policy)
    if now < allowed_at:
        raise StepRefused(
            Refusal.RESEND_TOO_SOON,
            f"A new code can be requested at {allowed_at:%H:%M:%S} UTC",
            details={"retry_at": allowed_at.isoformat()},
        )
    for window, cap, told in (
        (timedelta(hours=1), policy.resends_per_hour, "in the last hour"),
        (timedelta(days=1), policy.resends_per_day, "in the last day"),
    ):
        recent = [sent for sent in code.sent_at if sent > now - window]
        if len(recent) >= cap:
            # Allowed again once the send that fills the cap leaves the window.
            retry_at = recent[-cap] + window if cap > 0 else now + window
            raise StepRefused(
                Refusal.RESEND_LIMIT,
                f"Too many codes requested {told}: a new one can be requested at "
                f"{retry_at:%Y-%m-%d %H:%M:%S} UTC",
                details={"retry_at": retry_at.isoformat()},
            )


def record_send(
    code: CodeState, sequence: int, code_hash: str, ttl: timedelta, now: datetime, policy: Policy
) -> None:
    """Code number `sequence` went out: it replaces the last one, with fresh attempts."""
    code.send_failed_at = None
    code.sequence = sequence
    code.code_hash = code_hash
    code.expires_at = now + ttl
    code.attempts_left = policy.attempts_per_code
    code.sent_at = [t for t in code.sent_at if t > now - timedelta(days=1)] + [now]
