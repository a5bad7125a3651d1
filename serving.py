"""Serve an ASGI app from a background thread on a loopback port (the simulators, and the API
in tests), or on the running event loop beside other work (the worker's probes and metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Literal, Self

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp


class ServerThread:
    """`app` served by uvicorn in a daemon thread.

    `port=0` picks a free port; `url` is known once `start()` (or `with`) returns, which is
    only after the server accepts connections. `stop()` lets answers in flight finish for at
    most `shutdown_grace` seconds (an injected `timeout` fault may be holding one).
    `header_limit` caps the bytes of a request's header block the server buffers before it
    drops the connection (None: h11's default, 16 KiB); the API's is
    `api.limits.server_header_limit`.
    """

    def __init__(
        self,
        app: FastAPI,
        *,
        name: str = "server",
        lifespan: Literal["on", "off"] = "off",
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_grace: float = 1.0,
        header_limit: int | None = None,
    ) -> None:
        self.app = app
        self._name = name
        self._lifespan = lifespan
        self._host = host
        self._port = port
        self._startup_timeout = startup_timeout
        self._shutdown_grace = shutdown_grace
        self._header_limit = header_limit
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.url = ""

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        # Binding here rather than in uvicorn tells us the port before the thread starts.
        self._socket = socket.create_server((self._host, self._port))
        port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # leave the host process's logging alone
            log_level="warning",
            access_log=False,
            lifespan=self._lifespan,
            timeout_graceful_shutdown=max(1, round(self._shutdown_grace)),
            h11_max_incomplete_event_size=self._header_limit,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"{self._name}:{port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_serving()
        self.url = f"http://{self._host}:{port}"
        return self

    def _wait_until_serving(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self._name} stopped during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self._name} did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call more than once."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self._shutdown_grace + 5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signals alone: the host process (the
    worker) stops on its own SIGTERM and stops this server with it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving_here(
    app: ASGIApp, *, host: str, port: int, name: str = "server"
) -> AsyncIterator[None]:
    """Serve `app` on `host:port` from the running event loop while the block runs. Raises
    when the server cannot start (the port is taken)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(), name=f"{name}:{port}")
    while not server.started:
        if serving.done():
            serving.result()  # the failure, if any
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await serving
