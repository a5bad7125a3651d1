"""Limits on what a caller may do for citizens, spanning registrations.

The workflow counts attempts inside one registration; these count across all of them, in
PostgreSQL (`store.access.hit_rate_limit`), so cancelling and starting again, a restart or a
second API instance resets nothing. Each limit has a key that names no person: a contact and
a citizen's network address are keyed digests, a caller is its client id. A hit over a limit
is a `Refusal.RATE_LIMITED` with the moment to retry (`retry_at`); which limit it was goes to
the log only (telling the caller would tell an attacker whether others try the same contact).

The worst cases these allow are computed in docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from metrics import journey
from registration.codes import contact_key, range_key
from registration.contact import Contact
from registration.errors import FieldError, InvalidInput, Refusal, StepRefused
from settings import Settings
from store import access
from store.sends import SendLimits, next_send_at

log = logging.getLogger(__name__)

CODE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Caller:
    """Who asks on a citizen's behalf: the API client, and the citizen's network address as
    the portal forwarded it (None when it did not)."""

    client_id: str
    citizen_ip: str | None = None


def citizen_network(forwarded: str) -> str:
    """The network a forwarded citizen address stands for: an IPv4 address (also when written
    as IPv4-mapped IPv6), or the /64 of an IPv6 one (a household gets a whole /64). Raises
    `InvalidInput` for anything else."""
    try:
        address = ipaddress.ip_address(forwarded.strip())
    except ValueError:
        raise InvalidInput(
            [
                FieldError(
                    field="X-Citizen-IP",
                    code="citizen_ip.invalid",
                    message="The citizen's address must be an IPv4 or IPv6 address",
                )
            ]
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is how dual-stack sockets and proxies write an IPv4 citizen.
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Limits:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._secret = settings.code_secret_bytes
        self._sends = SendLimits.from_settings(settings)

    async def on_start(self, caller: Caller, contact_key: str) -> None:
        """Count a start: per caller token per minute, per citizen address per hour, per
        contact per day (cancelled and expired registrations count: they were started)."""
        settings = self._settings
        budget = settings.client_start_budgets.get(
            caller.client_id, settings.starts_per_client_per_minute
        )
        await self._hit(f"start:client:{caller.client_id}", budget, timedelta(minutes=1))
        if caller.citizen_ip is not None:
            await self._hit(
                f"start:ip:{self._keyed(caller.citizen_ip)}",
                settings.starts_per_ip_per_hour,
                timedelta(hours=1),
            )
        await self._hit(
            f"start:contact:{contact_key}", settings.starts_per_contact_per_day, timedelta(days=1)
        )

    async def next_code_at(self, contact: Contact) -> datetime | None:
        """When a code could next be sent to `contact` (`store.sends`, the budget the sending
        activity enforces); None when it could be now."""
        return await next_send_at(
            self._engine,
            contact_key(self._secret, contact),
            range_key(self._secret, contact),
            self._sends,
        )

    async def on_code_entry(self, caller: Caller, contact_key: str) -> None:
        """Count a code typed (contact or letter code): per contact and per citizen address in
        10 minutes, per caller token per minute (high: one portal serves every citizen)."""
        settings = self._settings
        await self._hit(
            f"code:contact:{contact_key}", settings.code_entries_per_contact, CODE_WINDOW
        )
        if caller.citizen_ip is not None:
            await self._hit(
                f"code:ip:{self._keyed(caller.citizen_ip)}",
                settings.code_entries_per_ip,
                CODE_WINDOW,
            )
        await self._hit(
            f"code:client:{caller.client_id}",
            settings.code_entries_per_client,
            timedelta(minutes=1),
        )

    async def on_profile(self, registration_id: str) -> None:
        """Count a profile submitted: each one asks the Pension Fund, MVD and FNS again."""
        await self._hit(
            f"profile:registration:{registration_id}",
            self._settings.profiles_per_registration_per_day,
            timedelta(days=1),
        )

    async def on_method(self, registration_id: str) -> None:
        """Count a confirmation method chosen (a letter has its own order limits too)."""
        await self._hit(
            f"method:registration:{registration_id}",
            self._settings.method_changes_per_registration_per_hour,
            timedelta(hours=1),
        )

    async def _hit(self, key: str, limit: int, window: timedelta) -> None:
        decision = await access.hit_rate_limit(self._engine, key, limit, window)
        if decision.allowed:
            return
        action, scope, _ = key.split(":", 2)
        log.info("limit %s per %s reached", action, scope)
        journey.rate_limit_hit(f"{action}_per_{scope}")
        raise rate_limited(datetime.now(UTC) + timedelta(seconds=decision.retry_after_seconds))

    def _keyed(self, network: str) -> str:
        """A citizen's address is personal data: the store keeps a keyed digest of it."""
        return hmac.new(self._secret, f"ip\x1f{network}".encode(), hashlib.sha256).hexdigest()[:32]


def rate_limited(retry_at: datetime) -> StepRefused:
    """The refusal of a step over a limit, to be tried again at `retry_at`."""
    return StepRefused(
        Refusal.RATE_LIMITED,
        "Too many attempts: wait and try again",
        details={"retry_at": retry_at.isoformat()},
    )
