"""`explain` tells every recorded path the same way, in plain words and with no personal data
unless revealed: golden files over the recorded histories of the current version and of the
oldest (RECORD_EXPLAIN=1 rewrites them; read the diff before committing it)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from service.explain import runs_of_history, tell
from tests.replay.test_replay import HISTORIES, VERSIONS

GOLDEN = Path(__file__).parent / "explained"
TOLD = [p for p in HISTORIES if p.parent in (VERSIONS[0], VERSIONS[-1])]
NOW = datetime(2027, 1, 1, tzinfo=UTC)
# What the recorded journeys typed: names, phone, e-mail, documents (tests/data.py).
PERSONAL = ("Иванова", "Мария", "Петровна", "+79123456789", "4512", "345678", "11223344595")


async def story_of(path: Path, *, reveal: bool = False) -> str:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    return tell(path.stem, await runs_of_history(history), reveal=reveal).render(NOW)


@pytest.mark.parametrize("path", TOLD, ids=[f"{p.parent.name}/{p.stem}" for p in TOLD])
async def test_every_recorded_path_is_told_as_its_golden_file(path: Path) -> None:
    told = await story_of(path)
    golden = GOLDEN / path.parent.name / f"{path.stem}.txt"
    if os.environ.get("RECORD_EXPLAIN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(told)
    assert told == golden.read_text()


@pytest.mark.parametrize("path", HISTORIES, ids=[f"{p.parent.name}/{p.stem}" for p in HISTORIES])
async def test_no_story_shows_personal_data_unless_revealed(path: Path) -> None:
    told = await story_of(path)
    assert "Stages" in told and "Who did what" in told
    assert [value for value in PERSONAL if value in told] == []


async def test_a_revealed_story_names_the_person() -> None:
    path = next(p for p in TOLD if p.stem == "clerk_with_matching_documents_confirms_in_person")
    told = await story_of(path, reveal=True)
    assert "person (revealed): Иванова Мария, +79123456789" in told


async def test_the_story_follows_the_stages_agencies_and_letters_of_a_letter_journey() -> None:
    path = VERSIONS[-1] / "letter_expires_at_day_30_and_can_be_reordered.json"
    told = await story_of(path)
    assert "identity_confirmation    " in told and "30 d" in told
    assert "letter 1 ordered, tracking" in told and "the code of letter 1 expired" in told
    assert "letter 2 ordered, tracking" in told
    assert "outcome: confirmed, method letter" in told


async def test_a_continued_registration_is_one_story_across_its_runs() -> None:
    path = VERSIONS[-1] / "continue_as_new_carries_the_state.json"
    told = await story_of(path)
    assert "a new run took over" in told and "identity_confirmation" in told
