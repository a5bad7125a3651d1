"""Support's deadline extensions: which deadline may be extended, when, and by how much.

The verification deadline runs while the agencies check the data (not once only the INN
lookup is left, which has its own); the letter code's while a code is out. One extension gives
1 to `max_deadline_extension` days.

Pure: `check_extension` raises `StepRefused` when the extension may not be given.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from registration import access
from registration.errors import Refusal, StepRefused
from registration.journey import Agency, Deadline, Stage
from registration.policy import Policy


def check_extension(
    deadline: Deadline,
    days: int,
    *,
    stage: Stage,
    pending: list[Agency],
    letter_code_out: bool,
    policy: Policy,
    cancelling: bool = False,
) -> None:
    longest = policy.max_deadline_extension.days
    if not 1 <= days <= longest:
        raise StepRefused(
            Refusal.INVALID_INPUT,
            f"A deadline can be extended by 1 to {longest} days at a time",
            details={"field": "days"},
        )
    if deadline is Deadline.VERIFICATION:
        access.require_stage(stage, Stage.VERIFICATION, cancelling=cancelling)
        if Agency.FNS in pending:
            raise StepRefused(
                Refusal.WRONG_STAGE,
                "The data is verified; only the INN lookup is running, on its own deadline",
                details={"stage": stage},
            )
        return
    access.require_stage(stage, Stage.IDENTITY, cancelling=cancelling)
    if not letter_code_out:
        raise StepRefused(
            Refusal.NO_ACTIVE_CODE,
            "No letter code is active: re-send the letter instead (resend_letter)",
        )


def extended(current: datetime | None, days: int, deadline: Deadline) -> datetime:
    """`current`, `days` later (`check_extension` made sure it runs)."""
    if current is None:
        raise StepRefused(Refusal.WRONG_STAGE, f"No {deadline} deadline runs")
    return current + timedelta(days=days)
