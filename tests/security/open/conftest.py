"""Attacks that still succeed: open holes of issue 10 (the eighth adversarial pass), each a
test that fails until its hole is fixed. The suite skips them so that CI stays green; run them
with `GOSREG_OPEN_ATTACKS=1 pytest tests/security/open`. A fix moves its test up to
`tests/security/`, where it runs with the rest.

- `test_adversary8_forged_activity_result.py`: someone who can write to the namespace
  completes a running activity by its id with a result of their own (a valid e-signature).
- `test_adversary8_copied_ciphertext_result.py`: the same, with our own ciphertext of a code
  the attacker typed handed back as the code sent (a contact proven, a registration taken).
The fix: activity results signed by the activity and checked by the workflow (behind a patch),
and payloads encrypted with associated data naming their role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GOSREG_OPEN_ATTACKS"):
        return
    skip = pytest.mark.skip(reason="an open hole of issue 10: GOSREG_OPEN_ATTACKS=1 runs it")
    for item in items:
        if Path(str(item.fspath)).parent == HERE:
            item.add_marker(skip)
