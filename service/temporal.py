"""Connecting to Temporal: the dev server locally, a cluster or Temporal Cloud by settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import temporalio.bridge.client
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, TLSConfig
from temporalio.service import RPCError, RPCStatusCode

from codec import data_converter
from metrics.sdk import sdk_runtime
from service.attestation import AttestingClient, attestation_key
from service.tracing import Tracing
from settings import Settings
from workflows import search_attributes as search


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path else None


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not settings.temporal_tls:
        return False
    return TLSConfig(
        client_cert=_read(settings.temporal_tls_client_cert),
        client_private_key=_read(settings.temporal_tls_client_key),
        server_root_ca_cert=_read(settings.temporal_tls_server_ca),
    )


async def connect(
    settings: Settings,
    *,
    lazy: bool = False,
    worker: bool = False,
    tracing: Tracing | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
) -> Client:
    """A client with the project's data converter, which encrypts every payload with the
    configured keyring, and that proves every signal and update it sends (`attestation`); API
    key and TLS when configured. A `lazy` client connects on first use, so a service can start
    while Temporal is down; a `worker`'s converter refuses payloads it cannot decrypt. With
    `tracing`, the trace goes on into workflows and activities (a worker takes it too). With a
    `metrics_port`, the SDK's metrics (of this client and of workers on it) are exported for
    Prometheus at `metrics_host:metrics_port` (`metrics.sdk`)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings) if api_key is None else (tls_config(settings) or True),
        data_converter=data_converter(settings.keyring, worker=worker),
        interceptors=[AttestingClient(attestation_key(settings.code_secret_bytes))],
        plugins=tracing.plugins() if tracing is not None else [],
        lazy=lazy,
        runtime=sdk_runtime(metrics_host, metrics_port),
    )


def is_connect_failure(error: BaseException) -> bool:
    """Whether `error` is the SDK failing to connect to Temporal (`Client.connect`, or the
    first call of a `lazy` client): nothing was sent. The SDK's bridge reports it as a bare
    `RuntimeError`, so it is told apart by where it was raised, never by its text; once
    connected, an unreachable server is an `RPCError` (`UNAVAILABLE`) instead."""
    if type(error) is not RuntimeError:
        return False
    innermost: TracebackType | None = error.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    return (
        innermost is not None
        and innermost.tb_frame.f_code is temporalio.bridge.client.Client.connect.__code__
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register the workflow's search attributes in the client's namespace (idempotent)."""
    for key in search.ALL:
        request = AddSearchAttributesRequest(
            namespace=client.namespace,
            # The SDK's enum mirrors the API's, value for value.
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type)},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise


def exit_without_finalization(status: int = 0) -> NoReturn:
    """End a process that held a Temporal client with `status` (success by default), skipping
    the interpreter's finalization: the SDK's Rust threads can outlive it and abort the process
    (SIGABRT, "PyGILState_Release ... must be current", temporalio/sdk-python#300), turning
    finished work into a failure."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
