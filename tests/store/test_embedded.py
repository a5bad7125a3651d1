"""The embedded PostgreSQL stops when its last live holder lets go, even when another holder
ended without letting go (killed, or ended by `os._exit` as `gosreg check` does)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from store.embedded import start_embedded_postgres, stop_embedded_postgres


def test_a_holder_that_died_holding_a_handle_does_not_keep_the_server_running(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "postgres"
    url = start_embedded_postgres(data_dir)
    engine = create_engine(url, poolclass=NullPool)
    try:
        # Another process joined the server, then ended without releasing its handle.
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        holders = data_dir / ".handle_pids.json"
        holders.write_text(json.dumps([*json.loads(holders.read_text()), int(gone.stdout)]))

        stop_embedded_postgres(data_dir)

        with pytest.raises(OperationalError), engine.connect():
            pass
    finally:
        engine.dispose()
        stop_embedded_postgres(data_dir)
