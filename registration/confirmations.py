"""The rules of outside confirmations (a clerk, a bank, an e-signature): when one is taken,
and what a refusal costs.

A confirmation is judged only at the identity stage, until one is decided. Each refusal is
counted and the last few are kept (the list stays bounded whatever a partner sends);
`confirmation_attempts` refusals lock confirmation for `confirmation_lock` and ask support to
look. Which fields differ is `registration.identity`'s to say, and the audit trail's to keep:
a partner is told only that the data do not confirm the registration.

Pure: functions read and change a `ConfirmationState` and the clock they are given; a step that
is not allowed raises `StepRefused`, having changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from registration.base import Model
from registration.errors import ConfirmationRefusal, Refusal, StepRefused
from registration.journey import ConfirmationMethod
from registration.messages import Rejection
from registration.policy import Policy

REFUSALS_KEPT = 5
"""Refused confirmations remembered one by one; older ones are only counted."""


class Confirmation(Model):
    """A decided identity confirmation, waiting for the main loop to write it down."""

    method: ConfirmationMethod
    actor: str
    details: dict[str, str] = Field(default_factory=dict)


class ConfirmationState(Model):
    decided: Confirmation | None = None
    refused: list[Rejection] = Field(default_factory=list)
    """The last `REFUSALS_KEPT` refusals (all of them, in runs from before the limits)."""
    refused_total: int = 0
    failures: int = 0
    """Refused since the last lock: `policy.confirmation_attempts` of them lock confirmation."""
    locked_until: datetime | None = None

    @property
    def refusal_count(self) -> int:
        """Every refusal (runs from before the count only listed them)."""
        return max(self.refused_total, len(self.refused))

    def lock(self, now: datetime) -> datetime | None:
        """Until when no confirmation is taken, if that is still ahead."""
        return (
            self.locked_until if self.locked_until is not None and now < self.locked_until else None
        )


@dataclass(frozen=True)
class Refused:
    """A refusal, counted: `locked_until` is set when it locked confirmation."""

    count: int
    locked_until: datetime | None = None


def check_open(confirmations: ConfirmationState, now: datetime) -> None:
    """Is a confirmation taken now (at the identity stage, which the caller checks)?"""
    if confirmations.decided is not None:
        raise StepRefused(Refusal.ALREADY_FINISHED, "The identity is confirmed already")
    locked_until = confirmations.lock(now)
    if locked_until is not None:
        raise StepRefused(
            Refusal.LOCKED,
            "Too many refused confirmations: none is taken until "
            f"{locked_until:%Y-%m-%d %H:%M} UTC",
            details={"locked_until": locked_until.isoformat()},
        )


def refuse(
    confirmations: ConfirmationState,
    refusal: ConfirmationRefusal,
    told: str,
    now: datetime,
    policy: Policy,
) -> Refused:
    """Count a refusal and keep the last few; the one that reaches `confirmation_attempts`
    locks confirmation (and starts the count again)."""
    confirmations.refused_total = confirmations.refusal_count + 1
    confirmations.failures += 1
    kept = [*confirmations.refused, Rejection(code=refusal, message=told, at=now)]
    confirmations.refused = kept[-REFUSALS_KEPT:]
    if confirmations.failures < policy.confirmation_attempts:
        return Refused(count=confirmations.refused_total)
    confirmations.failures = 0
    confirmations.locked_until = now + policy.confirmation_lock
    return Refused(count=confirmations.refused_total, locked_until=confirmations.locked_until)


def list_refusal(
    confirmations: ConfirmationState, refusal: ConfirmationRefusal, told: str, now: datetime
) -> None:
    """Before the limits (patch `confirmations-1`): every refusal was listed, uncounted."""
    confirmations.refused.append(Rejection(code=refusal, message=told, at=now))
