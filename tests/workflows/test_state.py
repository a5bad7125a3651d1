"""The state a run carries to the next: a state carried by a run from before the rule modules
(its fields at the top level) loads into the same values."""

from __future__ import annotations

from workflows.state import RegistrationState

OLD_CARRIED = {
    "stage": "identity_confirmation",
    "level": "standard",
    "started_at": "2026-10-01T10:00:00Z",
    "stage_entered_at": "2026-10-02T10:00:00Z",
    "code": {"sequence": 2, "attempts_left": 1, "sent_at": ["2026-10-01T10:00:00Z"]},
    "consecutive_failures": 4,
    "locked_until": "2026-10-01T10:20:00Z",
    "confirmation": None,
    "refused_confirmations": [
        {"code": "identity_mismatch", "message": "no", "at": "2026-10-03T10:00:00Z"}
    ],
    "confirmations_refused": 7,
    "confirmation_failures": 2,
    "confirmation_locked_until": "2026-10-04T10:00:00Z",
}


def test_a_state_carried_before_the_rule_modules_loads_into_their_parts() -> None:
    state = RegistrationState.model_validate(OLD_CARRIED)

    assert state.code.sequence == 2 and state.code.failures == 4
    assert state.code.locked_until is not None and state.code.locked_until.minute == 20
    assert state.confirmations.decided is None
    assert [r.code for r in state.confirmations.refused] == ["identity_mismatch"]
    assert state.confirmations.refused_total == 7 and state.confirmations.failures == 2
    assert state.confirmations.locked_until is not None


def test_a_carried_state_survives_the_round_trip() -> None:
    state = RegistrationState.model_validate(OLD_CARRIED)
    again = RegistrationState.model_validate(state.model_dump(mode="json"))
    assert again == state
