"""The one place configuration is read: environment variables prefixed `GOSREG_` (or a `.env`).

Defaults run everything on this machine (dev server, embedded PostgreSQL, simulators on
loopback); pointing at a Temporal cluster or Temporal Cloud and an external PostgreSQL is a
matter of setting variables, never of changing code.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from codec.keys import Keyring, load_keyring
from registration.policy import Policy
from registration.webhooks import secret_key

SECRET_FILES = {"code_secret": "code_secret", "token_pepper": "token_pepper"}
"""Secrets a development machine keeps in `data_dir` when none is configured (file names)."""
KEYRING_FILE = "codec_keys.json"


class Pool(TypedDict):
    """`store.db.make_engine`'s pool arguments (`Settings.pool`)."""

    pool_size: int
    max_overflow: int


class MissingSecret(RuntimeError):
    """A secret is neither configured nor kept in the data directory."""


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
    # Connections each process keeps open (API, worker, codec server), and how many more it
    # may open while busy: PostgreSQL's max_connections must cover every process's sum
    # (docs/deployment.md).
    database_pool_size: PositiveInt = 5
    database_max_overflow: NonNegativeInt = 10
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
    # Webhooks to the portal (registration.webhooks): every stage change of a registration
    # started while this is set goes to this URL as an event signed with the secret
    # (`whsec_…`, Standard Webhooks). Unset: the portal learns by asking (`state`).
    portal_webhook_url: str | None = None
    portal_webhook_secret: SecretStr | None = None

    # Secrets; when not configured, generated into `data_dir` on first use (development).
    code_secret: SecretStr | None = None  # derives and hashes one-time codes
    token_pepper: SecretStr | None = None  # keys the hashes of API tokens
    codec_keys: SecretStr | None = None  # JSON keyring that encrypts payloads (codec.keys)

    # The HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Request size, checked before authentication (api.limits). The largest valid body is an
    # e-signature confirmation: a 65,536-character signed request (base64url, so as many
    # bytes) plus its JSON; 128 KiB admits it with room for formatting, and nothing bigger is
    # ever read. Headers: a token, a few standard headers and proxies' additions fit 16 KiB.
    max_body_bytes: PositiveInt = 128 * 1024
    max_header_bytes: PositiveInt = 16 * 1024
    # Limits on what callers do for citizens, counted in PostgreSQL across registrations and
    # API instances (service.limits; docs/security.md has the worst cases they allow). A
    # "contact" is one phone or e-mail address, whatever registration it is in; a citizen's
    # address comes from `citizen_ip_header`, trusted from portal tokens only.
    code_entries_per_contact: PositiveInt = 10  # per 10 minutes: the lock that outlives restarts
    code_entries_per_ip: PositiveInt = 30  # per 10 minutes
    code_entries_per_client: PositiveInt = 10_000  # per minute: one portal serves every citizen
    starts_per_contact_per_day: PositiveInt = 30
    starts_per_ip_per_hour: PositiveInt = 20
    starts_per_client_per_minute: PositiveInt = 60
    # Steps that are applied every time, per registration: each profile asks three agencies
    # again; each method change writes a line and an upsert.
    profiles_per_registration_per_day: PositiveInt = 10
    method_changes_per_registration_per_hour: PositiveInt = 10
    client_start_budgets: dict[str, PositiveInt] = {}
    """Starts per minute for named clients (`{"cl_…": 3000}`): the real portal's budget."""
    citizen_ip_header: str = "X-Citizen-IP"

    # Codes sent to one contact, counted across all its registrations (store.sends), so that
    # cancelling and starting again resets nothing; per day is DOMAIN.md's cap. A number range
    # is a phone number without its last 4 digits (SMS pumping walks a range).
    contact_code_cooldown_seconds: NonNegativeInt = 60
    contact_codes_per_hour: PositiveInt = 6
    contact_codes_per_day: PositiveInt = 20
    range_codes_per_hour: PositiveInt = 200
    codes_per_hour_total: PositiveInt = 20000

    # How long an Idempotency-Key stays bound to the body it first came with (30 days): within
    # it, the key with another body is refused; after it, the key is forgotten (hourly).
    idempotency_key_ttl_hours: PositiveInt = 720
    # How long an API instance answers a token from memory (service.token_verdicts); a revoked
    # or rotated token is refused at once all the same (PostgreSQL NOTIFY). 0 turns it off.
    token_cache_seconds: NonNegativeFloat = 30
    # Activities run only with the proof of the registration that scheduled them; set this to
    # the moment workers requiring it were deployed, so that activities already in flight
    # (scheduled before, without a proof) still run. Unset: every activity needs its proof.
    activity_proofs_from: datetime | None = None

    # Codec server: decrypts payloads for the Temporal Web UI and CLI (support staff only).
    codec_host: str = "127.0.0.1"
    codec_port: int = 8082
    codec_cors_origins: list[str] = ["http://127.0.0.1:8233", "http://localhost:8233"]

    # Staff credentials expire. A person's token (clerk, support) lives this long from its
    # creation or rotation; a system's token (portal, bank, e-signature) lives forever unless
    # set. A codec sign-in is a server-side session, ended after its absolute lifetime, after
    # being idle this long, at sign-out, or when its token is revoked, rotated or expires.
    staff_token_lifetime_hours: float = 12
    machine_token_lifetime_days: int | None = None
    codec_session_hours: float = 8
    codec_session_idle_minutes: float = 30
    # The codec server's origin as browsers see it (behind a proxy): `/login` accepts forms
    # from it only, and links to the support desk point there. None: the request's own scheme
    # and host (links: `codec_url`).
    codec_origin: str | None = None

    # The clerk console (`console`, at /console on the API). Who signs in is decided by an
    # identity provider: the local clerk accounts (`gosreg clerks`) or, later, an organisation's
    # own (docs/console.md). A sign-in is a server-side session, ended when idle, after its
    # absolute lifetime, at sign-out, or when the account is disabled; failures in a row lock
    # the account for a while. "Today" on a clerk's day list is a day in `console_timezone`.
    console_identity_provider: Literal["local"] = "local"
    console_session_hours: PositiveFloat = 8
    console_session_idle_minutes: PositiveFloat = 15
    console_sign_in_failures: PositiveInt = 5
    console_lockout_minutes: PositiveFloat = 15
    console_timezone: str = "Europe/Moscow"
    # The console's origin as browsers see it (behind a proxy); its forms are accepted from it
    # only. None: the request's own scheme and host.
    console_origin: str | None = None
    # Metrics and health (README, "Metrics and health"). A port left unset is not bound: no
    # process exports anything unless told where. The worker's own port serves its health
    # probes and business metrics; the Temporal SDK's Prometheus exporter binds a port of its
    # own in each process holding a Temporal client (worker and API). `gosreg stack` sets all
    # of them; `stage_gauges_seconds` is how often the worker counts registrations per stage
    # in Temporal's visibility (0: never).
    worker_host: str = "127.0.0.1"
    worker_port: int | None = None
    worker_sdk_metrics_port: int | None = None
    api_sdk_metrics_port: int | None = None
    stage_gauges_seconds: NonNegativeInt = 60
    temporal_metrics_port: int | None = None  # the dev server's own, in `gosreg stack`
    prometheus_port: int | None = None  # `gosreg stack --observability`

    # Worker capacity (docs/deployment.md); unset keeps the Temporal SDK's defaults. The cache
    # holds running registrations in memory between their workflow tasks (the sticky cache);
    # activities per second bounds this task queue's activities across all workers.
    worker_max_cached_workflows: PositiveInt | None = None
    worker_max_concurrent_workflow_tasks: PositiveInt | None = None
    worker_max_concurrent_activities: PositiveInt | None = None
    worker_activities_per_second: PositiveFloat | None = None

    # Numbers of the journey for new registrations (JSON, e.g. '{"sms_code_ttl": "PT5M"}').
    policy: Policy = Policy()

    @field_validator("console_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        """An unknown zone fails at start-up, not on a clerk's page."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}, e.g. Europe/Moscow") from None
        return zone

    @model_validator(mode="after")
    def _webhooks_need_their_secret(self) -> Settings:
        """Registrations started while the portal takes webhooks send it their events; a URL
        without a well-formed secret fails at start-up."""
        if self.portal_webhook_url is None:
            return self
        if self.portal_webhook_secret is None:
            raise ValueError("GOSREG_PORTAL_WEBHOOK_URL needs GOSREG_PORTAL_WEBHOOK_SECRET")
        secret_key(self.portal_webhook_secret.get_secret_value())
        if not self.policy.portal_events:
            self.policy = self.policy.model_copy(update={"portal_events": True})
        return self

    @property
    def pool(self) -> Pool:
        """`store.db.make_engine`'s pool arguments."""
        return {"pool_size": self.database_pool_size, "max_overflow": self.database_max_overflow}

    def party_url(self, party: str) -> str:
        """Base URL of an outside party: its own setting, else the simulators' route for it."""
        own = getattr(self, f"{party}_url")
        return own or f"{self.simulators_url.rstrip('/')}/{party.replace('_', '-')}"

    @property
    def codec_url(self) -> str:
        return f"http://{self.codec_host}:{self.codec_port}"

    @property
    def support_desk_url(self) -> str:
        """Where support signs in and opens the Temporal UI with payloads decoded: the codec
        server, which serves the UI under its own origin (`codec.ui_proxy`)."""
        return (self.codec_origin or self.codec_url).rstrip("/")

    @property
    def support_workflows_url(self) -> str:
        """The registrations on the support desk; a registration's page is `/<its id>` below."""
        return f"{self.support_desk_url}/namespaces/{self.temporal_namespace}/workflows"

    @property
    def console_url(self) -> str:
        """Where clerks sign in to the console."""
        base = self.console_origin or f"http://{self.api_host}:{self.api_port}"
        return f"{base.rstrip('/')}/console/"

    @cached_property
    def keyring(self) -> Keyring:
        """The keys that encrypt payloads: `codec_keys`, else the ring kept in `data_dir`."""
        configured = self.codec_keys.get_secret_value() if self.codec_keys is not None else None
        try:
            return load_keyring(configured, self.data_dir / KEYRING_FILE)
        except FileNotFoundError:
            raise self._missing("codec_keys") from None

    def check_secrets(self) -> None:
        """Read every secret now: a process refuses to start without them (`MissingSecret`)
        rather than failing on its first request."""
        self.keyring  # noqa: B018 - read for its check
        self.code_secret_bytes  # noqa: B018
        self.token_pepper_bytes  # noqa: B018

    @cached_property
    def code_secret_bytes(self) -> bytes:
        return self._secret("code_secret", self.code_secret)

    @cached_property
    def token_pepper_bytes(self) -> bytes:
        return self._secret("token_pepper", self.token_pepper)

    def _secret(self, name: str, configured: SecretStr | None) -> bytes:
        if configured is not None:
            return configured.get_secret_value().encode()
        try:
            return (self.data_dir / SECRET_FILES[name]).read_text().strip().encode()
        except FileNotFoundError:
            raise self._missing(name) from None

    def _missing(self, name: str) -> MissingSecret:
        return MissingSecret(
            f"{name} is not configured: set GOSREG_{name.upper()}, or run `gosreg secrets` "
            f"to create development secrets in {self.data_dir} (`gosreg stack` does)"
        )


def load_settings() -> Settings:
    return Settings()
