"""The query answers: a registration's state as the portal and support see it, with no
secret (no code hashes, no session ids).

Pure: they read the state, the policy and the workflow's clock, nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registration import contact_code, letters
from registration.contact import Channel
from registration.journey import Level, Stage
from registration.messages import RegistrationView
from registration.policy import Policy
from workflows.details import describe
from workflows.state import RegistrationState


def full_view(
    state: RegistrationState,
    registration_id: str,
    channel: Channel,
    policy: Policy,
    now: datetime,
) -> RegistrationView:
    """Everything the owner's session and support see."""
    contact = state.stage is Stage.CONTACT
    confirmations = state.confirmations
    return RegistrationView(
        registration_id=registration_id,
        stage=state.stage,
        level=state.level,
        stage_entered_at=state.stage_entered_at,
        channel=channel,
        expires_at=state.started_at + policy.contact_deadline if contact else None,
        **(_code_fields(state, policy, now) if contact else {}),
        pending_checks=list(state.pending_checks),
        verification_deadline=(
            state.verification_deadline if state.stage is Stage.VERIFICATION else None
        ),
        last_rejection=state.last_rejection,
        method=state.method,
        letter=letters.view(state.letter, policy),
        letter_code_locked_until=state.letter.lock(now),
        refused_confirmations=list(confirmations.refused),
        confirmations_refused=confirmations.refusal_count,
        confirmation_locked_until=confirmations.lock(now),
        signature_challenge=(state.signature_challenge if state.stage is Stage.IDENTITY else None),
        identity_confirmed_by=confirmations.decided.method if confirmations.decided else None,
        inn_found=state.inn_found,
        attention=state.attention,
        summary=describe(state, channel, policy, now),
    )


def claim_view(
    state: RegistrationState,
    registration_id: str,
    channel: Channel,
    policy: Policy,
    now: datetime,
) -> RegistrationView:
    """What a session that is not the owner sees once the contact is confirmed: the contact
    stage of its own attempt to prove the contact, nothing of the registration's progress (or
    only that it has ended)."""
    if state.stage.is_final:
        return RegistrationView(
            registration_id=registration_id,
            stage=state.stage,
            level=Level.NONE,
            stage_entered_at=state.stage_entered_at,
            channel=channel,
        )
    sent = state.code.sent_at
    return RegistrationView(
        registration_id=registration_id,
        stage=Stage.CONTACT,
        level=Level.NONE,
        stage_entered_at=sent[-1] if sent else state.stage_entered_at,
        channel=channel,
        **_code_fields(state, policy, now),
    )


def _code_fields(state: RegistrationState, policy: Policy, now: datetime) -> dict[str, Any]:
    """The contact code as the view shows it while a contact is being proven."""
    code = state.code
    return {
        "code_expires_at": code.expires_at if code.code_hash else None,
        "code_attempts_left": code.attempts_left,
        "failures_before_lock": policy.failures_before_lock - code.failures,
        "locked_until": code.lock(now),
        "next_code_allowed_at": contact_code.next_send_allowed_at(
            code, state.stage_entered_at, policy
        ),
        "resends_left_today": contact_code.sends_left_today(code, now, policy),
    }
