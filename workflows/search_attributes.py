"""What support can filter registrations by in the Temporal UI and CLI — never personal data.

Every server the workflow runs on must know these (`service.temporal.ensure_search_attributes`
registers them; the local stack does it at start; `gosreg search-attributes` on a cluster).
The workflow keeps them current at every transition. README, "Support runbook", lists the
queries support pastes into the UI's filter box.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate, TypedSearchAttributes

from workflows.state import RegistrationState

STAGE = SearchAttributeKey.for_keyword("RegistrationStage")
"""contact, password, profile, verification, identity, or how it ended."""
LEVEL = SearchAttributeKey.for_keyword("RegistrationLevel")
"""The account level reached: none, simplified, standard, confirmed."""
STAGE_SINCE = SearchAttributeKey.for_datetime("RegistrationStageSince")
"""When the current stage was entered."""
METHOD = SearchAttributeKey.for_keyword("RegistrationMethod")
"""The identity confirmation method chosen (or used): letter, in_person, esignature, bank."""
PENDING_AGENCY = SearchAttributeKey.for_keyword_list("RegistrationPendingAgency")
"""The agencies whose answer the registration is waiting for: pension_fund, mvd, fns."""
PENDING_SINCE = SearchAttributeKey.for_datetime("RegistrationPendingSince")
"""When the registration started waiting for the agencies in `PENDING_AGENCY`."""
SERVICE_CENTER = SearchAttributeKey.for_keyword("RegistrationServiceCenter")
"""The service center the citizen was last seen at in person (a clerk's confirmation)."""
LETTERS_SENT = SearchAttributeKey.for_int("RegistrationLettersSent")
"""Registered letters ordered so far (re-orders and support re-sends included)."""
PROFILE_VERSION = SearchAttributeKey.for_int("RegistrationProfileVersion")
"""Profiles submitted so far: more than one means the agencies refused one."""
ATTENTION = SearchAttributeKey.for_keyword("RegistrationAttention")
"""Why a person should look at this registration (unset when nothing needs one)."""
NEEDS_ATTENTION = SearchAttributeKey.for_bool("RegistrationNeedsAttention")
"""Whether `ATTENTION` is set: the one filter support starts the day with."""

ALL = (
    STAGE,
    LEVEL,
    STAGE_SINCE,
    METHOD,
    PENDING_AGENCY,
    PENDING_SINCE,
    SERVICE_CENTER,
    LETTERS_SENT,
    PROFILE_VERSION,
    ATTENTION,
    NEEDS_ATTENTION,
)


def updates(
    state: RegistrationState, current: TypedSearchAttributes
) -> list[SearchAttributeUpdate[Any]]:
    """The upserts that bring the search attributes in step with `state`: every value that
    is always there, the optional ones that are set, and an unset of those set no longer."""
    result: list[SearchAttributeUpdate[Any]] = [
        STAGE.value_set(state.stage),
        LEVEL.value_set(state.level),
        STAGE_SINCE.value_set(state.stage_entered_at),
        LETTERS_SENT.value_set(state.letter.sequence),
        PROFILE_VERSION.value_set(state.profile_version),
        NEEDS_ATTENTION.value_set(state.attention is not None),
    ]
    if state.pending_since is not None:
        # Kept once set: it means something only while PENDING_AGENCY is.
        result.append(PENDING_SINCE.value_set(state.pending_since))
    pending = [agency.value for agency in state.pending_checks]
    optional: list[tuple[SearchAttributeKey[Any], Any]] = [
        (PENDING_AGENCY, pending or None),
        (METHOD, state.method),
        (SERVICE_CENTER, state.service_center_id),
        (ATTENTION, state.attention),
    ]
    for key, value in optional:
        if value is not None:
            result.append(key.value_set(value))
        elif current.get(key) is not None:  # unset only what is set
            result.append(key.value_unset())
    return result
