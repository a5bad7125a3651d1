"""Who gets into the console and what they reach, in Chromium on the real stack: wrong
sign-ins lock the account and all read alike; a form without its CSRF proof, or from another
site, is refused; an expired session goes back to sign-in; a clerk sees only what awaits
confirmation or what their center did, and a console session and an API token open nothing of
each other."""

from __future__ import annotations

import asyncio
import re

import httpx
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.journey import Stage
from registration.messages import ClerkConfirmation
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from store import clerks, repository
from tests.clerks import Applicant, Clerk, applicant, new_center, new_clerk
from tests.console.conftest import ConsoleWith, Tokens, assert_accessible, sign_in

REFUSED = (
    "Войти не удалось. Проверьте логин, пароль и код из приложения. После 5 неудачных "
    "попыток подряд вход блокируется на 15 минут."
)


async def refusal_shown(page: Page) -> str:
    await expect(page.get_by_role("alert")).to_be_visible()
    return (await page.get_by_role("alert").get_by_role("paragraph").inner_text()).strip()


async def session_cookie(page: Page) -> str:
    cookies = await page.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "gosreg_console_session")


async def csrf_of(page: Page) -> str:
    """The CSRF proof the page's forms carry (the sign-out form has one on every page)."""
    return await page.locator("input[name=csrf]").first.get_attribute("value") or ""


# --- signing in ---------------------------------------------------------------------------------


async def test_wrong_sign_ins_lock_the_account_and_every_refusal_reads_the_same(
    page: Page, console: str, clerk: Clerk, store_engine: AsyncEngine
) -> None:
    await sign_in(page, console, clerk, code="000000")
    await expect(page).to_have_url(f"{console}/sign-in")
    assert await refusal_shown(page) == REFUSED
    await expect(page.get_by_role("alert")).to_be_focused()
    await expect(page.get_by_label("Логин", exact=True)).to_have_value(clerk.login)
    await expect(page.get_by_label("Пароль", exact=True)).to_have_value("")
    await assert_accessible(page)

    wrong_password = Clerk(**{**clerk.__dict__, "password": "Wrong#Password-1"})
    await sign_in(page, console, wrong_password)
    assert await refusal_shown(page) == REFUSED
    unknown = Clerk(**{**clerk.__dict__, "login": "nobody-at-all"})
    await sign_in(page, console, unknown)
    assert await refusal_shown(page) == REFUSED
    for _ in range(3):
        await sign_in(page, console, clerk, code="000000")

    await sign_in(page, console, clerk)  # the right password and code, too late

    assert await refusal_shown(page) == REFUSED
    await expect(page).to_have_url(f"{console}/sign-in")
    events = await clerks.list_events(store_engine, clerk.account_id)
    assert [e.event for e in events if e.event != "sign_in_refused"] == [
        "account_created",
        "locked",
    ]
    assert events[-1].details == {"reason": "locked"}


# --- forms from our own pages only --------------------------------------------------------------


async def test_a_form_posted_without_its_csrf_proof_is_refused_and_changes_nothing(
    page: Page,
    console: str,
    clerk: Clerk,
    citizen: Applicant,
    store_engine: AsyncEngine,
) -> None:
    await sign_in(page, console, clerk)
    await page.goto(f"{console}/registrations/{citizen.registration_id}")
    profile = citizen.profile
    await page.get_by_label("Серия паспорта", exact=True).fill(profile.passport_series)
    await page.get_by_label("Номер паспорта", exact=True).fill(profile.passport_number)
    await page.get_by_label("СНИЛС", exact=True).fill(profile.snils)
    await page.locator("main input[name=csrf]").evaluate("field => field.remove()")

    await page.get_by_role("button", name="Подтвердить личность").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Запрос отклонён")
    await expect(page.get_by_text("Форма устарела или отправлена не со страницы")).to_be_visible()
    await assert_accessible(page)
    trail = await repository.list_audit(store_engine, citizen.registration_id)
    assert not [line for line in trail if line.actor.startswith("clerk:")]


async def test_a_sign_in_form_without_its_csrf_proof_is_refused(
    page: Page, console: str, clerk: Clerk
) -> None:
    await page.goto(f"{console}/sign-in")
    await page.locator("input[name=csrf]").evaluate("field => field.remove()")
    await page.get_by_label("Логин", exact=True).fill(clerk.login)
    await page.get_by_label("Пароль", exact=True).fill(clerk.password)
    await page.get_by_label("Код из приложения", exact=True).fill(clerk.code())

    await page.get_by_role("button", name="Войти").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Запрос отклонён")
    assert "gosreg_console_session" not in {c["name"] for c in await page.context.cookies()}


async def test_a_csrf_proof_of_another_session_or_a_form_from_another_site_is_refused(
    page: Page, console: str, clerk: Clerk, store_engine: AsyncEngine, stack_settings: Settings
) -> None:
    colleague = await new_clerk(store_engine, stack_settings, center=clerk.service_center_id)
    await sign_in(page, console, colleague)
    colleagues_proof = await csrf_of(page)
    await page.context.clear_cookies()
    await sign_in(page, console, clerk)
    own_proof = await csrf_of(page)
    form = {"by": "snils", "snils": "112-233-445 95"}

    foreign = await page.request.post(
        f"{console}/search",
        form={**form, "csrf": colleagues_proof},
        headers={"Origin": console[:-8]},
    )
    elsewhere = await page.request.post(
        f"{console}/search",
        form={**form, "csrf": own_proof},
        headers={"Origin": "https://evil.example"},
    )
    own = await page.request.post(
        f"{console}/search", form={**form, "csrf": own_proof}, headers={"Origin": console[:-8]}
    )

    assert (foreign.status, elsewhere.status, own.status) == (403, 403, 200)


# --- sessions end -------------------------------------------------------------------------------


async def test_an_expired_session_goes_back_to_sign_in_and_its_form_does_nothing(
    page: Page,
    console_with: ConsoleWith,
    clerk: Clerk,
    citizen: Applicant,
    registrations: Registrations,
) -> None:
    async with console_with(console_session_idle_minutes=0.04) as brief:
        await sign_in(page, brief, clerk)
        await page.goto(f"{brief}/registrations/{citizen.registration_id}")
        profile = citizen.profile
        await page.get_by_label("Серия паспорта", exact=True).fill(profile.passport_series)
        await page.get_by_label("Номер паспорта", exact=True).fill(profile.passport_number)
        await page.get_by_label("СНИЛС", exact=True).fill(profile.snils)

        await asyncio.sleep(3)  # idle longer than 2.4 s
        await page.get_by_role("button", name="Подтвердить личность").click()

        await expect(page).to_have_url(f"{brief}/sign-in?reason=expired")
        await expect(page.get_by_role("status")).to_contain_text("Сеанс завершён")
        assert "gosreg_console_session" not in {c["name"] for c in await page.context.cookies()}
        assert (await registrations.state(citizen.registration_id)).stage is Stage.IDENTITY


# --- a clerk's reach ----------------------------------------------------------------------------


async def test_a_clerk_sees_and_acts_on_nothing_outside_their_role(
    page: Page,
    console: str,
    clerk: Clerk,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
) -> None:
    """Only registrations awaiting confirmation, or that the clerk's center worked on."""
    unverified = await applicant(registrations, outbox, Stage.PROFILE)
    elsewhere = await applicant(registrations, outbox, Stage.IDENTITY)
    profile = elsewhere.profile
    other_center = new_center()
    await registrations.clerk_confirmation(
        elsewhere.registration_id,
        ClerkConfirmation(
            clerk_id="clk_elsewhere",
            service_center_id=other_center,
            passport_series=profile.passport_series,
            passport_number=profile.passport_number,
            snils=profile.snils,
        ),
    )
    await registrations.result(elsewhere.registration_id)  # confirmed, in the store too
    await sign_in(page, console, clerk)
    proof = await csrf_of(page)
    documents: dict[str, str | float | bool] = {
        "csrf": proof,
        "form_id": "a-form-of-my-own-making",
        "passport_series": "4512",
        "passport_number": "345678",
        "snils": "112-233-445 95",
    }

    for rid in (
        unverified.registration_id,
        elsewhere.registration_id,
        "reg-nonexistent-1",
        "x%00y",
    ):
        await page.goto(f"{console}/registrations/{rid}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Не найдено")
        acted = await page.request.post(
            f"{console}/registrations/{rid}/confirmation",
            form=documents,
            headers={"Origin": console[:-8]},
        )
        assert acted.status == 404
    await assert_accessible(page)
    assert (await registrations.state(unverified.registration_id)).stage is Stage.PROFILE
    unverified_trail = await repository.list_audit(store_engine, unverified.registration_id)
    assert not [line for line in unverified_trail if line.actor.startswith("clerk:")]

    await page.get_by_role("link", name="Мой день").click()
    await expect(
        page.get_by_text("Сегодня в центре ещё не было подтверждений и регистраций.")
    ).to_be_visible()

    other = await new_clerk(store_engine, stack_settings, center=other_center)
    await page.context.clear_cookies()
    await sign_in(page, console, other)
    await page.goto(f"{console}/registrations/{elsewhere.registration_id}")
    await expect(page.get_by_text("Личность подтверждена", exact=True)).to_be_visible()
    await page.goto(f"{console}/day")
    await expect(page.get_by_role("row").nth(1)).to_contain_text("Коллега clk_elsewhere")


async def test_a_console_session_opens_no_api_route_and_an_api_token_opens_no_console_page(
    page: Page, console: str, api_url: str, clerk: Clerk, tokens: Tokens
) -> None:
    await sign_in(page, console, clerk)
    session = await session_cookie(page)

    async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        with_session = {"Cookie": f"gosreg_console_session={session}"}
        stuck = await http.get("/v1/support/stuck", headers=with_session)
        lookup = await http.post(
            "/v1/clerk/registrations/search", json={"snils": "11223344595"}, headers=with_session
        )
        assert (stuck.status_code, lookup.status_code) == (401, 401)

        for token in (tokens.support, tokens.portal, tokens.clerk):
            as_bearer = await http.get(
                "/console/search", headers={"Authorization": f"Bearer {token}"}
            )
            as_cookie = await http.get(
                "/console/search", headers={"Cookie": f"gosreg_console_session={token}"}
            )
            for answer in (as_bearer, as_cookie):
                assert answer.status_code == 303
                assert re.fullmatch(
                    r"/console/sign-in(\?reason=expired)?", answer.headers["location"]
                )
