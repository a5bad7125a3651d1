"""Connecting to Temporal: the dev server locally, a cluster or Temporal Cloud by settings."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from settings import Settings


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


async def connect(settings: Settings) -> Client:
    """A client with the project's data converter; API key and TLS when configured."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings) if api_key is None else (tls_config(settings) or True),
        data_converter=pydantic_data_converter,
    )
