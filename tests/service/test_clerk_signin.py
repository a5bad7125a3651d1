"""Clerks signing in to the console against the test database: a password and a TOTP code of a
step not used before; failures in a row lock the account; sessions end when idle, when old,
at sign-out and when the account is disabled; every refusal looks alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal, Role, token_hash
from service.clerk_accounts import SecretBox, matching_step, totp
from service.clerk_signin import ClerkSignIn, Credentials, RefusalReason, SignInRefused
from settings import Settings
from store import clerks
from store.clerks import ClerkAccount, ClerkSession
from tests.clerks import Clerk, new_clerk

PEPPER = "clerk-signin-test-pepper"


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Iterator[Settings]:
    yield Settings(
        database_url=postgres_url,
        token_pepper=PEPPER,
        data_dir=tmp_path,
        console_sign_in_failures=5,
        console_lockout_minutes=15,
    )


@pytest.fixture
def desk(store_engine: AsyncEngine, settings: Settings) -> ClerkSignIn:
    return ClerkSignIn(store_engine, settings)


@pytest.fixture
async def clerk(store_engine: AsyncEngine, settings: Settings) -> Clerk:
    return await new_clerk(store_engine, settings)


def right(clerk: Clerk, steps_ahead: int = 0) -> Credentials:
    return Credentials(login=clerk.login, password=clerk.password, code=clerk.code(steps_ahead))


async def refusal(desk: ClerkSignIn, credentials: Credentials) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        await desk.sign_in(credentials)
    return refused.value


async def reasons(engine: AsyncEngine, clerk: Clerk) -> list[str]:
    events = await clerks.list_events(engine, clerk.account_id)
    return [e.details["reason"] for e in events if e.event == "sign_in_refused"]


async def age(engine: AsyncEngine, session_id: str, **values: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(ClerkSession)
            .where(ClerkSession.id_hash == token_hash(PEPPER.encode(), session_id))
            .values(**values)
        )


# --- signing in -------------------------------------------------------------------------------


async def test_a_clerk_signs_in_with_the_password_and_the_apps_code(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    principal, session_id = await desk.sign_in(right(clerk))

    assert principal == Principal(
        client_id=clerk.account_id, role=Role.CLERK, name=clerk.name, service_center_id="mfc-77-001"
    )
    assert principal.actor == f"clerk:{clerk.account_id}"
    assert await desk.clerk(session_id) == principal
    events = await clerks.list_events(store_engine, clerk.account_id)
    assert [e.event for e in events] == ["account_created", "signed_in"]
    assert events[-1].service_center_id == "mfc-77-001"


async def test_the_login_is_not_case_sensitive(desk: ClerkSignIn, clerk: Clerk) -> None:
    credentials = Credentials(
        login=f"  {clerk.login.upper()} ", password=clerk.password, code=clerk.code()
    )

    principal, _ = await desk.sign_in(credentials)

    assert principal.client_id == clerk.account_id


async def test_a_code_signs_in_once(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    await desk.sign_in(right(clerk))

    refused = await refusal(desk, right(clerk))

    assert refused.reason is RefusalReason.REPLAYED_CODE
    assert await reasons(store_engine, clerk) == ["replayed_code"]


async def test_a_code_older_than_the_last_one_taken_is_refused(
    desk: ClerkSignIn, clerk: Clerk
) -> None:
    await desk.sign_in(right(clerk, steps_ahead=1))

    assert (await refusal(desk, right(clerk))).reason is RefusalReason.REPLAYED_CODE


async def test_of_two_sign_ins_racing_with_one_code_one_succeeds(
    desk: ClerkSignIn, clerk: Clerk
) -> None:
    credentials = right(clerk)

    outcomes = await asyncio.gather(
        desk.sign_in(credentials), desk.sign_in(credentials), return_exceptions=True
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["SignInRefused", "tuple"]


def test_codes_of_the_neighbouring_steps_count_and_no_others() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    now = datetime(2026, 11, 30, 10, 0, 15, tzinfo=UTC)
    generator = totp(secret)
    step = generator.timecode(now)

    for offset in (-1, 0, 1):
        assert matching_step(secret, generator.generate_otp(step + offset), now) == step + offset
    for offset in (-2, 2):
        assert matching_step(secret, generator.generate_otp(step + offset), now) is None
    assert matching_step(secret, "12345", now) is None
    assert matching_step(secret, "abcdef", now) is None


async def test_every_refusal_reads_the_same_whatever_was_wrong(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    wrong_password = Credentials(login=clerk.login, password="Wrong#Password1", code=clerk.code())
    wrong_code = Credentials(login=clerk.login, password=clerk.password, code="000000")
    unknown_login = Credentials(login="nobody-here", password=clerk.password, code=clerk.code())

    refused = [await refusal(desk, c) for c in (wrong_password, wrong_code, unknown_login)]

    assert {str(r) for r in refused} == {"credentials"}
    assert await reasons(store_engine, clerk) == ["credentials", "credentials"]
    anonymous = await clerks.list_events(store_engine, "nobody-here")
    assert anonymous == [], "the login typed is never recorded"


async def test_five_failures_in_a_row_lock_the_account_even_against_the_right_credentials(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    for _ in range(5):
        await refusal(desk, Credentials(login=clerk.login, password="Wrong#Pass-1", code="000000"))

    locked = await refusal(desk, right(clerk))

    assert locked.reason is RefusalReason.LOCKED
    events = await clerks.list_events(store_engine, clerk.account_id)
    lock = next(e for e in events if e.event == "locked")
    until = datetime.fromisoformat(lock.details["until"])
    assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)

    await end_lock(store_engine, clerk)
    principal, _ = await desk.sign_in(right(clerk))
    assert principal.client_id == clerk.account_id


async def test_failures_while_locked_do_not_extend_the_lock(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    for _ in range(5):
        await refusal(desk, Credentials(login=clerk.login, password="Wrong#Pass-1", code="000000"))
    before = await locked_until(store_engine, clerk)

    for _ in range(3):
        await refusal(desk, Credentials(login=clerk.login, password="Wrong#Pass-1", code="000000"))

    assert await locked_until(store_engine, clerk) == before


async def test_a_sign_in_forgives_the_failures_before_it(desk: ClerkSignIn, clerk: Clerk) -> None:
    wrong = Credentials(login=clerk.login, password="Wrong#Pass-1", code="000000")
    for _ in range(4):
        await refusal(desk, wrong)
    await desk.sign_in(right(clerk))
    for _ in range(4):
        await refusal(desk, wrong)

    principal, _ = await desk.sign_in(right(clerk, steps_ahead=1))

    assert principal.client_id == clerk.account_id


async def end_lock(engine: AsyncEngine, clerk: Clerk) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(ClerkAccount)
            .where(ClerkAccount.id == clerk.account_id)
            .values(locked_until=ClerkAccount.locked_until - timedelta(minutes=16))
        )


async def locked_until(engine: AsyncEngine, clerk: Clerk) -> datetime | None:
    async with engine.connect() as connection:
        found: datetime | None = await connection.scalar(
            select(ClerkAccount.locked_until).where(ClerkAccount.id == clerk.account_id)
        )
    return found


# --- sessions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "over",
    [
        pytest.param(
            {"last_seen_at": ClerkSession.last_seen_at - timedelta(minutes=16)}, id="idle"
        ),
        pytest.param({"expires_at": ClerkSession.created_at - timedelta(seconds=1)}, id="absolute"),
    ],
)
async def test_a_session_past_its_expiry_is_over(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine, over: dict[str, object]
) -> None:
    _, session_id = await desk.sign_in(right(clerk))

    await age(store_engine, session_id, **over)

    assert await desk.clerk(session_id) is None


async def test_a_session_in_use_outlives_its_idle_timeout(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    _, session_id = await desk.sign_in(right(clerk))
    for _ in range(2):
        await age(
            store_engine, session_id, last_seen_at=ClerkSession.last_seen_at - timedelta(minutes=14)
        )
        assert await desk.clerk(session_id) is not None


async def test_sessions_last_as_the_settings_say(
    store_engine: AsyncEngine, settings: Settings, clerk: Clerk
) -> None:
    brief = ClerkSignIn(
        store_engine,
        settings.model_copy(update={"console_session_idle_minutes": 0.02}),
    )
    _, session_id = await brief.sign_in(right(clerk))
    assert await brief.clerk(session_id) is not None

    await asyncio.sleep(1.5)

    assert await brief.clerk(session_id) is None


async def test_signing_out_ends_the_session(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    principal, session_id = await desk.sign_in(right(clerk))

    await desk.sign_out(session_id, principal)

    assert await desk.clerk(session_id) is None
    events = await clerks.list_events(store_engine, clerk.account_id)
    assert events[-1].event == "signed_out"


async def test_disabling_an_account_ends_its_sessions_and_refuses_its_sign_ins(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    _, session_id = await desk.sign_in(right(clerk))

    assert await clerks.disable_account(store_engine, clerk.login) == clerk.account_id

    assert await desk.clerk(session_id) is None
    assert (await refusal(desk, right(clerk, steps_ahead=1))).reason is RefusalReason.DISABLED


async def test_a_session_of_a_disabled_account_is_refused_even_if_its_row_survived(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    """A sign-in that raced the disabling and wrote its session after it."""
    _, session_id = await desk.sign_in(right(clerk))
    async with store_engine.begin() as connection:
        await connection.execute(
            update(ClerkAccount)
            .where(ClerkAccount.id == clerk.account_id)
            .values(disabled_at=text("now()"))
        )

    assert await desk.clerk(session_id) is None


async def test_the_store_keeps_only_a_keyed_hash_of_the_session_id(
    desk: ClerkSignIn, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    _, session_id = await desk.sign_in(right(clerk))

    async with store_engine.connect() as connection:
        kept = list(
            await connection.scalars(
                select(ClerkSession.id_hash).where(ClerkSession.clerk_id == clerk.account_id)
            )
        )
    assert kept == [token_hash(PEPPER.encode(), session_id)]
    assert session_id.startswith("gcs_") and len(session_id) == 47


# --- the secret at rest, and the trail --------------------------------------------------------


async def test_the_totp_secret_is_stored_encrypted_and_bound_to_its_account(
    clerk: Clerk, store_engine: AsyncEngine
) -> None:
    async with store_engine.connect() as connection:
        sealed = await connection.scalar(
            select(ClerkAccount.totp_secret).where(ClerkAccount.id == clerk.account_id)
        )
    assert sealed is not None and clerk.totp_secret not in sealed

    assert SecretBox(PEPPER.encode()).open(sealed, clerk.account_id) == clerk.totp_secret
    with pytest.raises(ValueError):
        SecretBox(PEPPER.encode()).open(sealed, "clk_another")
    with pytest.raises(ValueError):
        SecretBox(b"another pepper").open(sealed, clerk.account_id)


async def test_the_clerks_trail_cannot_be_changed(clerk: Clerk, store_engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with store_engine.begin() as connection:
            await connection.execute(text("DELETE FROM staff_events"))


# --- another identity provider ----------------------------------------------------------------


class Provider:
    """An identity provider that names whoever it was told to (an OIDC provider would map
    its token's claims)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def authenticate(self, credentials: Credentials) -> Principal:
        return self.principal


async def test_a_clerk_named_by_another_identity_provider_signs_in_the_same_way(
    store_engine: AsyncEngine, settings: Settings
) -> None:
    clerk = Principal(
        client_id="kc_3f2a9c", role=Role.CLERK, name="Анна Петрова", service_center_id="mfc-77-001"
    )
    desk = ClerkSignIn(store_engine, settings, provider=Provider(clerk))

    principal, session_id = await desk.sign_in(Credentials(login="", password="", code=""))

    assert principal == clerk
    assert await desk.clerk(session_id) == clerk
    await desk.sign_out(session_id, clerk)
    assert await desk.clerk(session_id) is None


@pytest.mark.parametrize(
    "someone",
    [
        Principal(client_id="cl_support", role=Role.SUPPORT, name="", service_center_id=None),
        Principal(client_id="kc_nowhere", role=Role.CLERK, name="", service_center_id=None),
    ],
)
async def test_an_identity_provider_cannot_sign_in_anyone_but_a_clerk_of_a_center(
    store_engine: AsyncEngine, settings: Settings, someone: Principal
) -> None:
    desk = ClerkSignIn(store_engine, settings, provider=Provider(someone))

    refused = await refusal(desk, Credentials(login="", password="", code=""))

    assert refused.reason is RefusalReason.NOT_A_CLERK
