"""The rules of outside confirmations and of who may act, without a Temporal server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registration import access, confirmations
from registration.confirmations import REFUSALS_KEPT, Confirmation, ConfirmationState
from registration.errors import ConfirmationRefusal, Refusal, StepRefused
from registration.journey import ConfirmationMethod, Stage
from registration.policy import Policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = Policy()


def refusal(call: object) -> StepRefused:
    assert callable(call)
    with pytest.raises(StepRefused) as refused:
        call()
    return refused.value


def test_refusals_are_counted_kept_few_and_lock_at_the_limit() -> None:
    state = ConfirmationState()
    outcomes = [
        confirmations.refuse(state, ConfirmationRefusal.IDENTITY_MISMATCH, "no", NOW, POLICY)
        for _ in range(POLICY.confirmation_attempts + 3)
    ]
    locks = [o.locked_until for o in outcomes if o.locked_until is not None]
    assert locks == [NOW + POLICY.confirmation_lock]
    assert state.refusal_count == POLICY.confirmation_attempts + 3
    assert len(state.refused) == REFUSALS_KEPT
    refused = refusal(lambda: confirmations.check_open(state, NOW + timedelta(hours=1)))
    assert refused.code is Refusal.LOCKED
    confirmations.check_open(state, NOW + POLICY.confirmation_lock)  # open again


def test_a_decided_confirmation_takes_no_other() -> None:
    state = ConfirmationState(decided=Confirmation(method=ConfirmationMethod.BANK, actor="bank:b"))
    assert refusal(lambda: confirmations.check_open(state, NOW)).code is Refusal.ALREADY_FINISHED


def test_only_the_owner_session_acts_after_the_contact_stage() -> None:
    access.require_owner("owner", "owner")
    access.require_owner("owner", None)  # support's tools carry no session
    assert refusal(lambda: access.require_owner(None, "s")).code is Refusal.CONTACT_NOT_PROVEN
    assert refusal(lambda: access.require_owner("owner", "s")).code is Refusal.SESSION_REVOKED
    binding = refusal(lambda: access.require_owner("owner", "owner", binding="other"))
    assert binding.code is Refusal.SESSION_REVOKED


def test_contact_codes_after_the_contact_stage_come_from_another_session() -> None:
    access.require_contact_proof(Stage.CONTACT, None, "s")
    access.require_contact_proof(Stage.PROFILE, "owner", "claimant")
    own = refusal(lambda: access.require_contact_proof(Stage.PROFILE, "owner", "owner"))
    assert own.code is Refusal.WRONG_STAGE
    ended = refusal(lambda: access.require_contact_proof(Stage.CANCELLED, "owner", "claimant"))
    assert ended.code is Refusal.ALREADY_FINISHED
    cancelling = refusal(
        lambda: access.require_stage(Stage.PROFILE, Stage.PROFILE, cancelling=True)
    )
    assert cancelling.code is Refusal.ALREADY_FINISHED
