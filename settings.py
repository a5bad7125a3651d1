"""The one place configuration is read: environment variables prefixed `GOSREG_` (or a `.env`).

Defaults run everything on this machine (dev server, embedded PostgreSQL, simulators on
loopback); pointing at a Temporal cluster or Temporal Cloud and an external PostgreSQL is a
matter of setting variables, never of changing code.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from codec.keys import Keyring, load_keyring
from registration.policy import Policy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOSREG_", env_file=".env", extra="ignore")

    # Temporal: a dev server by default; a cluster or Temporal Cloud by configuration.
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "registrations"
    temporal_task_queue: str = "registrations"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_tls_client_cert: Path | None = None
    temporal_tls_client_key: Path | None = None
    temporal_tls_server_ca: Path | None = None
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # PostgreSQL: None starts an embedded server under `data_dir` (development only).
    database_url: str | None = None
    data_dir: Path = Path(".devstack")

    # Outside parties. Each can be pointed elsewhere; by default all are the simulators.
    simulators_url: str = "http://127.0.0.1:8081"
    sms_gateway_url: str | None = None
    email_gateway_url: str | None = None
    pension_fund_url: str | None = None
    mvd_url: str | None = None
    fns_url: str | None = None
    post_url: str | None = None
    esignature_url: str | None = None
    http_timeout_seconds: float = 10.0
    portal_url: str = "http://127.0.0.1:8000"

    # Secrets; when not configured, generated into `data_dir` on first use (development).
    code_secret: SecretStr | None = None  # derives and hashes one-time codes
    token_pepper: SecretStr | None = None  # keys the hashes of API tokens
    codec_keys: SecretStr | None = None  # JSON keyring that encrypts payloads (codec.keys)

    # The HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Brute-force protection on code entry, on top of the workflow's own attempt counters.
    code_entries_per_registration: int = 10
    code_entries_per_registration_window_seconds: int = 600
    code_entries_per_client: int = 600
    code_entries_per_client_window_seconds: int = 60

    # Codec server: decrypts payloads for the Temporal Web UI and CLI (support staff only).
    codec_host: str = "127.0.0.1"
    codec_port: int = 8082
    codec_cors_origins: list[str] = ["http://127.0.0.1:8233", "http://localhost:8233"]

    # Numbers of the journey for new registrations (JSON, e.g. '{"sms_code_ttl": "PT5M"}').
    policy: Policy = Policy()

    def party_url(self, party: str) -> str:
        """Base URL of an outside party: its own setting, else the simulators' route for it."""
        own = getattr(self, f"{party}_url")
        return own or f"{self.simulators_url.rstrip('/')}/{party.replace('_', '-')}"

    @property
    def codec_url(self) -> str:
        return f"http://{self.codec_host}:{self.codec_port}"

    @cached_property
    def keyring(self) -> Keyring:
        """The keys that encrypt payloads: `codec_keys`, else a ring kept in `data_dir`."""
        configured = self.codec_keys.get_secret_value() if self.codec_keys is not None else None
        return load_keyring(configured, self.data_dir / "codec_keys.json")

    def ensure_secrets(self) -> None:
        """Read every secret now, generating local ones (development) that are missing."""
        for secret in (self.keyring, self.code_secret_bytes, self.token_pepper_bytes):
            assert secret

    @cached_property
    def code_secret_bytes(self) -> bytes:
        return self._secret("code_secret", self.code_secret)

    @cached_property
    def token_pepper_bytes(self) -> bytes:
        return self._secret("token_pepper", self.token_pepper)

    def _secret(self, name: str, configured: SecretStr | None) -> bytes:
        if configured is not None:
            return configured.get_secret_value().encode()
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


def load_settings() -> Settings:
    return Settings()
