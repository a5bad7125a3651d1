"""Who may take a step: the stage it belongs to, and the citizen session it must come from.

A registration is owned by the session that entered the right contact code last. Later citizen
steps come from that session; a contact code after the contact stage comes from another one,
proving the contact again to take the registration over (docs/security.md). Callers without
sessions (support's tools, histories recorded before sessions) pass None.

Pure: each function raises `StepRefused` when the step may not be taken.
"""

from __future__ import annotations

from registration.errors import Refusal, StepRefused
from registration.journey import Stage


def require_open(current: Stage, *, cancelling: bool = False) -> None:
    if cancelling or current.is_final:
        raise StepRefused(Refusal.ALREADY_FINISHED, f"The registration is already {current}")


def require_stage(current: Stage, stage: Stage, *, cancelling: bool = False) -> None:
    require_open(current, cancelling=cancelling)
    if current is not stage:
        raise StepRefused(
            Refusal.WRONG_STAGE,
            f"This step belongs to stage {stage}; the registration is at {current}",
            details={"stage": current},
        )


def require_contact_proof(
    current: Stage, owner: str | None, session: str | None, *, cancelling: bool = False
) -> None:
    """Contact codes belong to the contact stage; later, only to a session other than the
    owner's, which proves the contact again to take the registration over."""
    if current is Stage.CONTACT or session is None:
        require_stage(current, Stage.CONTACT, cancelling=cancelling)
        return
    require_open(current, cancelling=cancelling)
    if session == owner:
        raise StepRefused(
            Refusal.WRONG_STAGE, "The contact is confirmed already", details={"stage": current}
        )


def require_owner(owner: str | None, session: str | None, *, binding: str | None = None) -> None:
    """A citizen's step after the contact stage comes from the session that proved the
    contact. While another session's proof is being written down (`binding`), none does."""
    if session is not None and binding not in (None, session):
        raise StepRefused(
            Refusal.SESSION_REVOKED,
            "The contact is being confirmed in another session: this one is losing the "
            "registration",
        )
    if session is None or session == owner:
        return
    if owner is None:
        raise StepRefused(
            Refusal.CONTACT_NOT_PROVEN,
            "Confirm the contact with the code sent to it before this step",
        )
    raise StepRefused(
        Refusal.SESSION_REVOKED,
        "This session no longer holds the registration: the contact was confirmed in another",
    )
