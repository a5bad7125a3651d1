"""Registrations started weeks ago are still running: today's workflow code must replay every
recorded history of every version of the workflow, on every path, without a non-determinism
error (docs/versioning.md).

`histories/<version>/` holds what the workflow tests recorded with that version's code
(`RECORD_HISTORIES=<version> pytest tests/workflows`). A version's folder is never re-recorded
or deleted while registrations of that version may still run; a change that alters the
commands a workflow issues ships behind `workflow.patched(...)` with a new version folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from service.attestation import VerifyingWorker
from tests.workflows.world import ATTESTATION_KEY
from workflows import WORKFLOWS

FOLDER = Path(__file__).parent / "histories"
VERSIONS = sorted((p for p in FOLDER.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
HISTORIES = sorted(FOLDER.glob("*/*.json"))


def test_every_path_has_a_recorded_history_of_the_current_version() -> None:
    names = {path.stem for path in VERSIONS[-1].glob("*.json")}
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
        "support_extends_the_verification_deadline",
        "support_extends_the_letter_code",
    ):
        assert path in names, f"no recorded history for {path}"


def test_histories_of_older_versions_are_kept() -> None:
    assert [version.name for version in VERSIONS][:2] == ["v1", "v2"]
    assert len(list(VERSIONS[0].glob("*.json"))) >= 29


@pytest.mark.parametrize("path", HISTORIES, ids=[f"{p.parent.name}/{p.stem}" for p in HISTORIES])
async def test_current_code_replays_recorded_history(path: Path) -> None:
    # The workflow id is the file's name, not the recorded run's, so the proofs of the start,
    # the signals and the updates (they name the workflow id) fail to check on replay, as a
    # forged one would: the run must replay all the same (a proof patch is decided by its own
    # marker, never anew: `workflows.patches.COVERED`). Activity results' proofs check.
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    # With the worker's interceptors, as production replays.
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        interceptors=[VerifyingWorker(ATTESTATION_KEY)],
    )
    await replayer.replay_workflow(history)
