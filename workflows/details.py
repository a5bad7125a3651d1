"""A registration in plain words, for support: what it waits for, since when, until when, and
what a person can do about it. The workflow shows it as its current details in the Temporal UI
(user metadata) and the `state` query carries it as `summary`.

Pure and deterministic: it reads the state and the workflow's clock, nothing else. It names
stages, agencies, times and counts — never the person (the text also passes through the payload
codec, but must not rely on it).

The text is read long after it was written: the workflow sets it when something happens, not
when a code or a lock runs out. So it states absolute times ("can be entered until 09:47 UTC",
"locked until 10:02 UTC"), never what is true only at the moment of writing ("valid", "in
3 h").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from registration.contact import Channel
from registration.journey import Agency, Attention, ConfirmationMethod, Stage
from registration.policy import Policy
from workflows.state import RegistrationState

AGENCY_NAMES = {
    Agency.PENSION_FUND: "Pension Fund",
    Agency.MVD: "MVD",
    Agency.FNS: "the tax service (FNS)",
}
METHOD_NAMES = {
    ConfirmationMethod.LETTER: "registered letter",
    ConfirmationMethod.IN_PERSON: "in person at a service center",
    ConfirmationMethod.ESIGNATURE: "qualified e-signature",
    ConfirmationMethod.BANK: "bank",
    ConfirmationMethod.SERVICE_CENTER: "registration at a service center",
}
ATTENTION_HINTS = {
    Attention.VERIFICATION_TIMEOUT: (
        "an agency did not answer before the deadline; check the agency's status, then ask the "
        "citizen to resubmit the profile"
    ),
    Attention.AGENCY_REQUEST_REJECTED: (
        "an agency refused the request itself (not the person's data); see the audit trail"
    ),
    Attention.CONFIRMATION_REFUSED: (
        "an identity confirmation was refused (documents or certificate did not match)"
    ),
    Attention.CONFIRMATION_LOCKED: (
        "too many identity confirmations were refused, so none is taken until the lock ends; "
        "the audit trail says who tried and which fields differed"
    ),
    Attention.LETTER_CODE_EXPIRED: (
        "the letter's code expired unused; the citizen may order a new letter, or support can "
        "send one (update resend_letter)"
    ),
    Attention.NOTIFICATION_FAILED: "a notice to the citizen could not be delivered for a day",
}


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "unknown"


def span(duration: timedelta) -> str:
    """`3 d 4 h`, `40 min`, `25 s`: a duration as support reads it."""
    seconds = max(int(duration.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def agencies(pending: list[Agency]) -> str:
    return " and ".join(AGENCY_NAMES[agency] for agency in pending)


def describe(state: RegistrationState, channel: Channel, policy: Policy, now: datetime) -> str:
    lines = [_stage_line(state, channel, policy, now)]
    if state.attention is not None:
        lines.append(f"Needs attention: {ATTENTION_HINTS[state.attention]}.")
    return "\n".join(lines)


def _stage_line(state: RegistrationState, channel: Channel, policy: Policy, now: datetime) -> str:
    entered = when(state.stage_entered_at)
    since = f"since {entered}"
    match state.stage:
        case Stage.CONTACT:
            return _contact(state, channel, policy, now)
        case Stage.PASSWORD:
            return f"Contact confirmed; waiting for the citizen to set a password ({since})."
        case Stage.PROFILE:
            text = f"Simplified account; waiting for the citizen's profile ({since})."
            rejection = state.last_rejection
            if rejection is not None:
                text += (
                    f" The last profile was not verified on {when(rejection.at)}: "
                    f"{rejection.message} ({rejection.code})."
                )
            return text
        case Stage.VERIFICATION:
            return _verification(state, policy)
        case Stage.IDENTITY:
            return _identity(state, now)
        case Stage.CONFIRMED:
            method = METHOD_NAMES[state.method] if state.method else "unknown method"
            return f"Confirmed account: identity confirmed by {method} at {entered}."
        case Stage.CANCELLED:
            return f"Cancelled at {entered}; see the audit trail for who and why."
        case Stage.EXPIRED:
            return f"Expired at {entered}: the contact was never confirmed."
        case Stage.REFUSED:
            reason = state.last_rejection.message if state.last_rejection else "see the audit trail"
            return f"Refused at {entered}: {reason}."


def _contact(state: RegistrationState, channel: Channel, policy: Policy, now: datetime) -> str:
    what = "SMS code" if channel is Channel.SMS else "e-mail link"
    code = state.code
    text = f"Waiting for the citizen to enter the {what}"
    if code.code_hash is not None and code.expires_at is not None:
        sent = when(code.sent_at[-1]) if code.sent_at else "unknown"
        text += (
            f" (code {code.sequence} sent {sent}, can be entered until {when(code.expires_at)}; "
            "after that the citizen requests a new one)"
        )
    elif code.sequence:
        text += f" (code {code.sequence} used up or expired; the citizen can request a new one)"
    elif code.send_failed_at is not None:
        text += (
            f" (no code has gone out: sending the first failed at {when(code.send_failed_at)}, "
            "the gateway down or the contact's daily limit spent; the citizen can request one)"
        )
    else:
        text += " (the first code is being sent)"
    expires = when(state.started_at + policy.contact_deadline)
    text += f". Unconfirmed, the registration expires at {expires}."
    if code.lock(now) is not None:
        text += f" Code entry locked until {when(code.locked_until)} after wrong codes."
    return text


def _verification(state: RegistrationState, policy: Policy) -> str:
    deadline = state.verification_deadline
    if not state.pending_checks:
        return f"Profile {state.profile_version} submitted; the agency checks are starting."
    waiting = f"Waiting for the {agencies(state.pending_checks)} answer"
    if state.pending_checks == [Agency.FNS]:
        return (
            f"Data verified; {waiting.lower()} on the INN since {when(state.pending_since)}. "
            "It does not block the account; without it the account stays standard, no INN."
        )
    text = (
        f"{waiting} since {when(state.pending_since)} (profile {state.profile_version}). "
        f"Asked again with backoff up to every {span(policy.agency_max_backoff)}; "
        "attempt and next retry under Pending Activities. "
    )
    if deadline is not None:
        text += (
            f"Gives up at {when(deadline)}; support can extend it (update extend_deadline) or "
            "ask again now (update retry_checks)."
        )
    return text


def _identity(state: RegistrationState, now: datetime) -> str:
    since = when(state.stage_entered_at)
    text = f"Standard account since {since}; waiting for identity confirmation"
    if state.method is None:
        text += " (no method chosen yet; a clerk or bank may confirm at any time)."
    else:
        text += f" by {METHOD_NAMES[state.method]}."
    letter = state.letter
    if letter.ordered_at is not None:
        ordered = when(letter.ordered_at)
        text += f" Letter {letter.sequence} ordered {ordered}, post status {letter.status}"
        if letter.status_updated_at is not None:
            text += f" ({when(letter.status_updated_at)})"
        if letter.code_hash is not None and letter.code_expires_at is not None:
            text += f"; its code can be entered until {when(letter.code_expires_at)}"
        text += "."
    if letter.lock(now) is not None:
        text += f" Letter code entry locked until {when(letter.locked_until)} after wrong codes."
    confirmations = state.confirmations
    if confirmations.refused:
        last = confirmations.refused[-1]
        count = confirmations.refusal_count
        text += f" {count} confirmation(s) refused, the last at {when(last.at)}: {last.message}."
    locked_until = confirmations.lock(now)
    if locked_until is not None:
        text += (
            f" Identity confirmation locked until {when(locked_until)} after refused confirmations."
        )
    return text
