"""The registered letter's rules: when one may be ordered, how its code is judged, and what a
letter in the post needs next (a tracking refresh, a reminder, or the code's expiry).

Limits from Login.gov and DOMAIN.md (`Policy`): a day between orders and a few per month; a few
wrong codes lock entry for a while; the code is good for 30 days. Support may re-send a letter
whatever the order limits (a person decided).

Pure: functions read and change a `LetterState` and the clock they are given; a step that is
not allowed raises `StepRefused`, having changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pydantic import Field

from registration.address import PostalAddress, normalize_postal_address
from registration.base import Model
from registration.contact_code import check_hash
from registration.errors import FieldError, InvalidInput, Refusal, StepRefused
from registration.messages import LetterView
from registration.policy import Policy


class LetterState(Model):
    sequence: int = 0
    address: PostalAddress | None = None
    tracking_number: str | None = None
    code_hash: str | None = None
    ordered_at: datetime | None = None
    code_expires_at: datetime | None = None
    status: str = "not_ordered"
    status_updated_at: datetime | None = None
    order_times: list[datetime] = Field(default_factory=list)
    reminder_due_at: datetime | None = None
    next_tracking_at: datetime | None = None
    wrong_entries: list[datetime] = Field(default_factory=list)
    locked_until: datetime | None = None

    def lock(self, now: datetime) -> datetime | None:
        """Until when code entry is locked, if that is still ahead."""
        return (
            self.locked_until if self.locked_until is not None and now < self.locked_until else None
        )


CODE_EXPIRED = "code_expired"
"""The status of a letter whose code expired unused."""


class LetterEvent(Enum):
    """What a letter in the post needs next."""

    EXPIRE = "expire"  # the code's 30 days are over
    TRACK = "track"  # ask the post where the letter is
    REMIND = "remind"  # tell the citizen the letter is waiting


@dataclass(frozen=True)
class Judgement:
    accepted: bool
    attempts_left: int
    locked_until: datetime | None = None
    """Set when this entry locked code entry."""


def check_order(
    letter: LetterState, address: PostalAddress | None, now: datetime, policy: Policy
) -> None:
    """May the citizen order a letter to `address` now: a valid address, a day after the last
    order, and no more than `letter_orders_per_window` orders in the window."""
    if address is None:
        raise InvalidInput(
            [
                FieldError(
                    field="address",
                    code="required",
                    message="A postal address is required for a registered letter",
                )
            ]
        )
    normalize_postal_address(address)
    if letter.ordered_at is not None and now < letter.ordered_at + policy.letter_reorder_gap:
        allowed = letter.ordered_at + policy.letter_reorder_gap
        raise StepRefused(
            Refusal.LETTER_REORDER_TOO_SOON,
            f"A new letter can be ordered after {allowed:%Y-%m-%d %H:%M} UTC",
            details={"retry_at": allowed.isoformat()},
        )
    cap, window = policy.letter_orders_per_window, policy.letter_order_window
    recent = [t for t in letter.order_times if t > now - window]
    if len(recent) >= cap:
        # Allowed again once the order that fills the cap leaves the window.
        allowed = recent[-cap] + window if cap > 0 else now + window
        raise StepRefused(
            Refusal.LETTER_REORDER_LIMIT,
            f"At most {cap} letters can be ordered in {window.days} days: the next can be "
            f"ordered after {allowed:%Y-%m-%d %H:%M} UTC",
            details={"retry_at": allowed.isoformat()},
        )


def orders_in_window(letter: LetterState, now: datetime, policy: Policy) -> int:
    window_start = now - policy.letter_order_window
    return sum(1 for t in letter.order_times if t > window_start)


def record_order(
    letter: LetterState,
    sequence: int,
    address: PostalAddress,
    tracking_number: str,
    code_hash: str,
    now: datetime,
    policy: Policy,
) -> None:
    """Letter number `sequence` is in the post: its code replaces the last one's."""
    letter.sequence = sequence
    letter.tracking_number = tracking_number
    letter.address = address
    letter.code_hash = code_hash
    letter.ordered_at = now
    letter.code_expires_at = now + policy.letter_code_ttl
    letter.status = "ordered"
    letter.status_updated_at = now
    letter.order_times = [t for t in letter.order_times if t > now - policy.letter_order_window] + [
        now
    ]
    letter.reminder_due_at = now + policy.letter_reminder_after
    letter.next_tracking_at = now + policy.letter_tracking_interval
    letter.wrong_entries = []


def check_entry(letter: LetterState, code_hash: str, now: datetime) -> None:
    """May the letter's code be judged now."""
    check_hash(code_hash)
    locked_until = letter.lock(now)
    if locked_until is not None:
        raise StepRefused(
            Refusal.LOCKED,
            f"Code entry is locked until {locked_until:%H:%M:%S} UTC",
            details={"locked_until": locked_until.isoformat()},
        )
    expired = letter.status == CODE_EXPIRED
    if letter.code_expires_at is None or (letter.code_hash is None and not expired):
        raise StepRefused(Refusal.NO_ACTIVE_CODE, "No letter code is active: order a letter first")
    if expired or now >= letter.code_expires_at:
        raise StepRefused(
            Refusal.CODE_EXPIRED,
            "The letter code has expired: order a new letter",
            details={"expired_at": letter.code_expires_at.isoformat()},
        )


def judge(letter: LetterState, code_hash: str, now: datetime, policy: Policy) -> Judgement:
    """Judge an entry that `check_entry` let through: the right code is used up; wrong ones
    within `letter_wrong_code_window` lock entry after `letter_wrong_codes_before_lock`."""
    if code_hash == letter.code_hash:
        letter.code_hash = None
        return Judgement(accepted=True, attempts_left=0)
    window_start = now - policy.letter_wrong_code_window
    letter.wrong_entries = [t for t in letter.wrong_entries if t > window_start] + [now]
    left = policy.letter_wrong_codes_before_lock - len(letter.wrong_entries)
    if left > 0:
        return Judgement(accepted=False, attempts_left=left)
    letter.locked_until = now + policy.letter_lock_duration
    letter.wrong_entries = []
    return Judgement(accepted=False, attempts_left=0, locked_until=letter.locked_until)


def next_event(letter: LetterState) -> tuple[datetime | None, LetterEvent | None]:
    """The next thing the letter needs, and when: nothing while no code is out. On a tie,
    expiry comes first, then tracking, then the reminder."""
    if letter.code_hash is None or letter.code_expires_at is None:
        return None, None
    candidates = [(letter.code_expires_at, LetterEvent.EXPIRE)]
    if letter.next_tracking_at is not None:
        candidates.append((letter.next_tracking_at, LetterEvent.TRACK))
    if letter.reminder_due_at is not None:
        candidates.append((letter.reminder_due_at, LetterEvent.REMIND))
    return min(candidates, key=lambda candidate: candidate[0])


def expire(letter: LetterState, now: datetime) -> None:
    """The code's time is over: nothing more to track or remind of."""
    letter.code_hash = None
    letter.next_tracking_at = None
    letter.reminder_due_at = None
    letter.status = CODE_EXPIRED
    letter.status_updated_at = now


def record_status(
    letter: LetterState, status: str, updated_at: datetime | None, now: datetime
) -> bool:
    """The post's status of the letter; whether it changed."""
    if status == letter.status:
        return False
    letter.status = status
    letter.status_updated_at = updated_at or now
    return True


def view(letter: LetterState, policy: Policy) -> LetterView | None:
    """The letter as the portal and support see it (no code), once one was ordered."""
    if letter.tracking_number is None or letter.ordered_at is None:
        return None
    assert letter.code_expires_at is not None
    return LetterView(
        tracking_number=letter.tracking_number,
        ordered_at=letter.ordered_at,
        code_expires_at=letter.code_expires_at,
        status=letter.status,
        status_updated_at=letter.status_updated_at,
        orders_in_window=orders_in_window(letter, letter.ordered_at, policy),
        next_order_allowed_at=letter.ordered_at + policy.letter_reorder_gap,
    )
