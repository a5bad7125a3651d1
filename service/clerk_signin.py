"""Signing clerks in to the console, their sessions, and signing out; each audited.

Who the person at the console is comes from an identity provider (`IdentityProvider`), chosen
by `Settings.console_identity_provider` from `PROVIDERS`: today the local accounts
(`LocalAccounts`: a password and a TOTP code, `gosreg clerks`); an organisation's OIDC
provider can take their place by configuration once it is written (docs/console.md says how
its claims map). Whatever the provider, the console then holds a server-side session
(`store.clerks`): the browser gets only a random id, which ends when idle
(`console_session_idle_minutes`), absolutely (`console_session_hours`), at sign-out, or when
the local account is disabled.

A refused sign-in never says why: not whether the login, the password or the code was wrong,
nor that the account is locked or disabled (a guesser learns nothing from the answer, nor from
its timing: a password is checked against a hash every time). The reason goes to the clerks'
audit trail (`staff_events`) and the log, with the account's id when there is one and never
the login typed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import NoReturn, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal, Role
from service.clerk_accounts import SecretBox, matching_step, new_password, normalize_login
from settings import Settings
from store import clerks
from store.passwords import hash_password, verify_password

log = logging.getLogger(__name__)


class RefusalReason(StrEnum):
    """Why a sign-in was refused: for the audit trail only, never for the person."""

    CREDENTIALS = "credentials"  # an unknown login, a wrong password or a wrong code
    REPLAYED_CODE = "replayed_code"  # a code of a step already used
    LOCKED = "locked"
    DISABLED = "disabled"
    NOT_A_CLERK = "not_a_clerk"  # the provider named someone who is no clerk of a center


class SignInRefused(Exception):
    """A sign-in that did not succeed; `reason` is for the audit trail, not the person."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    """What the person typed into the sign-in form."""

    login: str
    password: str = field(repr=False)
    code: str = field(repr=False)


class IdentityProvider(Protocol):
    """Who signs in. `authenticate` answers with the clerk as a principal of role `clerk`,
    bound to a service center, or raises `SignInRefused`; it records its own refusals."""

    async def authenticate(self, credentials: Credentials) -> Principal: ...


@cache
def _decoy_hash() -> str:
    """A hash no password matches, checked when there is no account's hash to check, so
    that an unknown or disabled login takes as long as a known one."""
    return hash_password(new_password())


class LocalAccounts:
    """The console's own accounts: a password and a TOTP code of a step not used before.
    `console_sign_in_failures` failures in a row lock the account for
    `console_lockout_minutes` (a lock is not extended by attempts during it)."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._box = SecretBox(settings.token_pepper_bytes)
        self._limit = settings.console_sign_in_failures
        self._lock_for = timedelta(minutes=settings.console_lockout_minutes)

    async def authenticate(self, credentials: Credentials) -> Principal:
        account = await clerks.find_for_sign_in(self._engine, normalize_login(credentials.login))
        password_hash = _decoy_hash() if account is None else account.password_hash
        password_ok = await asyncio.to_thread(verify_password, password_hash, credentials.password)
        if account is None:
            await self._refuse(RefusalReason.CREDENTIALS, None, None)
        if account.disabled:
            await self._refuse(RefusalReason.DISABLED, account.id, account.service_center_id)
        if account.locked:
            await self._refuse(RefusalReason.LOCKED, account.id, account.service_center_id)
        secret = self._box.open(account.totp_secret, account.id)
        step = matching_step(secret, credentials.code, datetime.now(UTC))
        if password_ok and step is not None:
            if await clerks.accept_sign_in(self._engine, account.id, step):
                return account.principal()
            reason = RefusalReason.REPLAYED_CODE
        else:
            reason = RefusalReason.CREDENTIALS
        locked_until = await clerks.count_failed_sign_in(
            self._engine, account.id, limit=self._limit, lock_for=self._lock_for
        )
        if locked_until is not None:
            log.warning(
                "console account %s locked until %s after %d failed sign-ins",
                account.id,
                locked_until.isoformat(),
                self._limit,
                extra={"client_id": account.id},
            )
            await clerks.record_event(
                self._engine,
                "locked",
                account.id,
                account.service_center_id,
                until=locked_until.isoformat(),
                failures=self._limit,
            )
        await self._refuse(reason, account.id, account.service_center_id)

    async def _refuse(
        self, reason: RefusalReason, clerk_id: str | None, center: str | None
    ) -> NoReturn:
        await _refused(self._engine, reason, clerk_id, center)


async def _refused(
    engine: AsyncEngine, reason: RefusalReason, clerk_id: str | None, center: str | None
) -> NoReturn:
    """Record a refused sign-in and raise `SignInRefused`."""
    log.info("console sign-in refused (%s)", reason.value, extra={"client_id": clerk_id})
    await clerks.record_event(engine, "sign_in_refused", clerk_id, center, reason=reason.value)
    raise SignInRefused(reason)


PROVIDERS: dict[str, Callable[[AsyncEngine, Settings], IdentityProvider]] = {
    "local": LocalAccounts,
}
"""The identity providers `Settings.console_identity_provider` chooses from."""


class ClerkSignIn:
    """Signing in through the configured identity provider, the session that follows, and
    signing out."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings, provider: IdentityProvider | None = None
    ) -> None:
        self._engine = engine
        self._pepper = settings.token_pepper_bytes
        self._provider = provider or PROVIDERS[settings.console_identity_provider](engine, settings)
        self.lifetime = timedelta(hours=settings.console_session_hours)
        self.idle_timeout = timedelta(minutes=settings.console_session_idle_minutes)

    async def sign_in(
        self, credentials: Credentials, *, replacing: str | None = None
    ) -> tuple[Principal, str]:
        """The clerk and their new session id (for their browser only; the browser's previous
        session `replacing` ends). Raises `SignInRefused`."""
        clerk = await self._provider.authenticate(credentials)
        if clerk.role is not Role.CLERK or not clerk.service_center_id:
            await _refused(self._engine, RefusalReason.NOT_A_CLERK, clerk.client_id, None)
        session_id = await clerks.open_session(
            self._engine,
            self._pepper,
            clerk,
            lifetime=self.lifetime,
            idle_timeout=self.idle_timeout,
            replacing=replacing,
        )
        log.info("console sign-in by %s", clerk.client_id, extra={"client_id": clerk.client_id})
        await clerks.record_event(
            self._engine, "signed_in", clerk.client_id, clerk.service_center_id
        )
        return clerk, session_id

    async def clerk(self, session_id: str) -> Principal | None:
        """The clerk signed in with `session_id` (the use restarts its idle timeout); None
        when the session is over or unknown."""
        return await clerks.session_principal(self._engine, self._pepper, session_id)

    async def sign_out(self, session_id: str, clerk: Principal) -> None:
        """End the session; recorded when there was one."""
        if await clerks.close_session(self._engine, self._pepper, session_id) is None:
            return
        log.info("console sign-out by %s", clerk.client_id, extra={"client_id": clerk.client_id})
        await clerks.record_event(
            self._engine, "signed_out", clerk.client_id, clerk.service_center_id
        )
