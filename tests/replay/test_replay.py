"""Registrations started weeks ago are still running: today's workflow code must replay every
recorded history of every path without a non-determinism error.

The histories under `histories/` were recorded from the workflow tests
(`RECORD_HISTORIES=1 pytest tests/workflows`). Re-record them only for a change that is meant
to be incompatible *and* ships behind `workflow.patched(...)`; otherwise a failure here means
the change would break running registrations.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_path_has_a_recorded_history() -> None:
    names = {path.stem for path in HISTORIES}
    for path in (
        "letter_confirms_identity_without_tax_cabinet_access",
        "clerk_with_matching_documents_confirms_in_person",
        "valid_esignature_of_the_same_person_confirms",
        "bank_with_matching_identity_confirms",
        "agency_mismatch_returns_to_profile_and_correction_passes",
        "agency_silent_for_eleven_days_hits_the_deadline",
        "letter_expires_at_day_30_and_can_be_reordered",
        "support_cancels_a_registration",
        "unconfirmed_contact_expires_after_24_hours",
        "continue_as_new_carries_the_state",
    ):
        assert path in names, f"no recorded history for {path}"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_current_code_replays_recorded_history(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
