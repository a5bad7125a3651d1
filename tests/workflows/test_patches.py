"""`workflows.patches.taken`: one marker for the patches `EVERY_PATCH` covers, and never for a
patch added after it (a run recorded with `EVERY_PATCH` knows nothing of a later one). The
SDK's `workflow.patched` is replaced by a recorder: this isolates the decision, and
`tests/replay` proves it against recorded histories."""

from __future__ import annotations

import pytest
from temporalio import workflow

from workflows import patches


class Patched:
    """`workflow.patched` of a run that has (or has not) taken `EVERY_PATCH`, new otherwise."""

    def __init__(self, took_every_patch: bool) -> None:
        self.took_every_patch = took_every_patch
        self.asked: list[str] = []

    def __call__(self, patch: str) -> bool:
        self.asked.append(patch)
        return self.took_every_patch if patch == patches.EVERY_PATCH else True


@pytest.fixture
def new_run(monkeypatch: pytest.MonkeyPatch) -> Patched:
    patched = Patched(took_every_patch=True)
    monkeypatch.setattr(workflow, "patched", patched)
    return patched


@pytest.fixture
def older_run(monkeypatch: pytest.MonkeyPatch) -> Patched:
    patched = Patched(took_every_patch=False)
    monkeypatch.setattr(workflow, "patched", patched)
    return patched


def test_a_run_that_took_every_patch_asks_for_no_covered_patch_of_its_own(
    new_run: Patched,
) -> None:
    assert all(patches.taken(patch) for patch in patches.COVERED)
    assert set(new_run.asked) == {patches.EVERY_PATCH}


def test_an_older_run_decides_each_covered_patch_by_its_own_marker(older_run: Patched) -> None:
    assert patches.taken(patches.LOCAL_STORE)
    assert older_run.asked == [patches.EVERY_PATCH, patches.LOCAL_STORE]


def test_a_patch_added_later_is_decided_by_its_own_marker_even_in_a_run_that_took_every_patch(
    new_run: Patched,
) -> None:
    assert patches.taken("a-later-change-1")
    assert new_run.asked == ["a-later-change-1"]


def test_every_patch_covers_exactly_the_patches_that_existed_when_it_was_added() -> None:
    # Growing this set would switch runs recorded with `EVERY_PATCH` to a new way mid-run,
    # with no marker to replay: a later patch is asked for by its own marker instead.
    assert patches.COVERED == {
        "sessions-1",
        "confirmations-1",
        "support-view-1",
        "signature-challenge-1",
        "counter-1",
        "portal-events-1",
        "local-store-1",
        "exact-deadline-1",
        "signed-results-1",
    }
    # Asked only when a proof does not check: a replay decides them by their marker alone.
    assert not {patches.ATTESTED, patches.ATTESTED_START} & patches.COVERED
