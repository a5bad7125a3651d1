"""A clerk's journeys through the console in Chromium, on the real stack: sign in with a TOTP
code, find a citizen, have a wrong passport refused and the right one confirmed, look back on
the day, all of it also with the keyboard alone. Each main screen passes axe-core without a
serious or critical violation, and is photographed (tests/console/conftest.py)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.journey import ConfirmationMethod, Stage
from service.registrations import Registrations
from store import clerks, repository
from tests.clerks import Applicant, Clerk
from tests.console.conftest import Shoot, assert_accessible, sign_in


async def test_a_clerk_signs_in_with_the_password_and_the_apps_code(
    page: Page, console: str, clerk: Clerk, shoot: Shoot, store_engine: AsyncEngine
) -> None:
    await page.goto(f"{console}/")
    await expect(page).to_have_url(f"{console}/sign-in")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Вход для сотрудников")
    await expect(page.get_by_label("Логин", exact=True)).to_be_focused()
    await assert_accessible(page)
    await shoot(page, "sign-in")

    await sign_in(page, console, clerk)

    await expect(page).to_have_url(f"{console}/search")
    await expect(
        page.get_by_text(f"Анна Петрова · центр {clerk.service_center_id}")
    ).to_be_visible()
    await assert_accessible(page)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "gosreg_console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    events = [e.event for e in await clerks.list_events(store_engine, clerk.account_id)]
    assert events[-1] == "signed_in"


async def test_a_wrong_passport_is_refused_naming_it_and_the_right_one_confirms(
    page: Page,
    console: str,
    clerk: Clerk,
    citizen: Applicant,
    registrations: Registrations,
    store_engine: AsyncEngine,
    shoot: Shoot,
) -> None:
    profile = citizen.profile
    await sign_in(page, console, clerk)

    await page.get_by_label("СНИЛС", exact=True).fill(citizen.profile.snils)
    await page.get_by_role("region", name="По СНИЛС").get_by_role("button", name="Найти").click()

    results = page.get_by_role("region", name=re.compile("Найдено заявок"))
    await expect(results.get_by_role("heading")).to_have_text("Найдено заявок: 1")
    await expect(results.get_by_role("heading")).to_be_focused()
    row = results.get_by_role("row").nth(1)
    await expect(row).to_contain_text("Иванова Мария Петровна")
    await expect(row).to_contain_text("15.05.1990")
    await expect(row).to_contain_text(f"•• •• ••{profile.passport_number[-4:]}")
    assert profile.passport_number not in await page.content()
    await assert_accessible(page)
    await shoot(page, "search")

    await row.get_by_role("link").click()
    await expect(page).to_have_url(f"{console}/registrations/{citizen.registration_id}")
    await expect(page.get_by_label("Серия паспорта", exact=True)).to_be_focused()
    await assert_accessible(page)

    wrong_number = f"{(int(profile.passport_number) + 1) % 1_000_000:06d}"
    await page.get_by_label("Серия паспорта", exact=True).fill(profile.passport_series)
    await page.get_by_label("Номер паспорта", exact=True).fill(wrong_number)
    await page.get_by_label("СНИЛС", exact=True).fill(profile.snils)
    await page.get_by_role("button", name="Подтвердить личность").click()

    refused = page.get_by_role("alert")
    await expect(refused).to_contain_text(
        "Личность не подтверждена: номер паспорта не совпадает с проверенными данными."
    )
    await expect(refused).to_be_focused()
    await assert_accessible(page)
    await shoot(page, "refused")

    await page.get_by_label("Номер паспорта", exact=True).fill(profile.passport_number)
    await page.get_by_role("button", name="Подтвердить личность").click()

    confirmed = page.get_by_role("status")
    await expect(confirmed).to_contain_text("Личность подтверждена.")
    await expect(page.get_by_role("button", name="Подтвердить личность")).to_have_count(0)
    await assert_accessible(page)
    await shoot(page, "confirmed")

    result = await registrations.result(citizen.registration_id)
    assert (result.stage, result.method) == (Stage.CONFIRMED, ConfirmationMethod.IN_PERSON)
    trail = await repository.list_audit(store_engine, citizen.registration_id)
    judged = [
        line for line in trail if line.event in ("confirmation_refused", "identity_confirmed")
    ]
    assert [line.event for line in judged] == ["confirmation_refused", "identity_confirmed"]
    for line in judged:
        assert line.actor == f"clerk:{clerk.account_id}"
        assert line.details["service_center_id"] == clerk.service_center_id
    assert judged[0].details["mismatched"] == ["passport_number"]

    await page.get_by_role("link", name="Мой день").click()
    day = page.get_by_role("table")
    await expect(day.get_by_role("row")).to_have_count(3)
    await expect(day.get_by_role("row").nth(1)).to_contain_text("Подтверждено")
    await expect(day.get_by_role("row").nth(2)).to_contain_text(
        "Отказано: не совпадает номер паспорта"
    )
    await expect(day.get_by_role("row").nth(1)).to_contain_text("Вы")
    await assert_accessible(page)
    await shoot(page, "day")

    await day.get_by_role("link").first.click()
    await expect(page.get_by_text("Личность подтверждена", exact=True)).to_be_visible()


async def test_a_citizen_is_found_by_phone_and_by_passport_too(
    page: Page, console: str, clerk: Clerk, citizen: Applicant
) -> None:
    await sign_in(page, console, clerk)
    national = citizen.phone.removeprefix("+7")

    await page.get_by_label("Номер мобильного телефона", exact=True).fill(
        f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    )
    await page.get_by_role("region", name="По номеру телефона").get_by_role("button").click()
    await expect(page.get_by_role("heading", name="Найдено заявок: 1")).to_be_visible()

    await page.get_by_label("Серия паспорта", exact=True).fill(citizen.profile.passport_series)
    await page.get_by_label("Номер паспорта", exact=True).fill(citizen.profile.passport_number)
    await page.get_by_role("region", name="По паспорту").get_by_role("button").click()
    await expect(page.get_by_role("heading", name="Найдено заявок: 1")).to_be_visible()
    await expect(
        page.get_by_role("link", name=re.compile("Иванова Мария Петровна"))
    ).to_have_attribute("href", f"/console/registrations/{citizen.registration_id}")


async def test_a_lookup_typed_wrong_is_named_at_its_field(
    page: Page, console: str, clerk: Clerk
) -> None:
    await sign_in(page, console, clerk)

    await page.get_by_label("СНИЛС", exact=True).fill("112-233-445 96")
    await page.get_by_label("СНИЛС", exact=True).press("Enter")

    summary = page.get_by_role("alert")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("Контрольное число СНИЛС не сходится")
    field = page.get_by_label("СНИЛС", exact=True)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_attribute("aria-describedby", "snils-hint snils-error")
    await summary.get_by_role("link").click()
    await expect(field).to_be_focused()
    await assert_accessible(page)


async def test_the_whole_confirmation_with_the_keyboard_alone(
    page: Page,
    console: str,
    clerk: Clerk,
    citizen: Applicant,
    registrations: Registrations,
) -> None:
    keys = page.keyboard
    await page.goto(f"{console}/sign-in")
    await expect(page.get_by_label("Логин", exact=True)).to_be_focused()
    await keys.type(clerk.login)
    await keys.press("Tab")
    await keys.type(clerk.password)
    await keys.press("Tab")
    await keys.type(clerk.code())
    await keys.press("Enter")
    await expect(page).to_have_url(f"{console}/search")

    await expect(page.get_by_label("СНИЛС", exact=True)).to_be_focused()
    await keys.type(citizen.profile.snils)
    await keys.press("Enter")
    await expect(page.get_by_role("heading", name="Найдено заявок: 1")).to_be_focused()
    await keys.press("Tab")
    await expect(page.get_by_role("link", name=re.compile("Иванова Мария"))).to_be_focused()
    await keys.press("Enter")

    await expect(page).to_have_url(f"{console}/registrations/{citizen.registration_id}")
    await expect(page.get_by_label("Серия паспорта", exact=True)).to_be_focused()
    await keys.type(citizen.profile.passport_series)
    await keys.press("Tab")
    await keys.type(citizen.profile.passport_number)
    await keys.press("Tab")
    await keys.type(citizen.profile.snils)
    await keys.press("Enter")

    await expect(page.get_by_role("status")).to_be_focused()
    await expect(page.get_by_role("status")).to_contain_text("Личность подтверждена.")
    assert (await registrations.result(citizen.registration_id)).stage is Stage.CONFIRMED


async def test_signing_out_ends_the_session(page: Page, console: str, clerk: Clerk) -> None:
    await sign_in(page, console, clerk)

    await page.get_by_role("button", name="Выйти").click()

    await expect(page).to_have_url(f"{console}/sign-in?reason=signed_out")
    await expect(page.get_by_role("status")).to_have_text("Вы вышли из консоли.")
    await page.goto(f"{console}/search")
    await expect(page).to_have_url(f"{console}/sign-in")


async def test_five_refusals_lock_confirmation_and_the_page_says_until_when(
    page: Page, console: str, clerk: Clerk, citizen: Applicant
) -> None:
    await sign_in(page, console, clerk)
    await page.goto(f"{console}/registrations/{citizen.registration_id}")
    profile = citizen.profile
    await page.get_by_label("Серия паспорта", exact=True).fill(profile.passport_series)
    await page.get_by_label("СНИЛС", exact=True).fill(profile.snils)
    for attempt in range(1, 6):
        wrong = f"{(int(profile.passport_number) + attempt) % 1_000_000:06d}"
        await page.get_by_label("Номер паспорта", exact=True).fill(wrong)
        await page.get_by_role("button", name="Подтвердить личность").click()
        await expect(page.get_by_role("alert")).to_contain_text("номер паспорта не совпадает")
    await expect(page.get_by_role("alert")).to_contain_text(
        "Слишком много отказов подряд: подтверждение этой заявки заблокировано до"
    )

    await page.get_by_label("Номер паспорта", exact=True).fill(profile.passport_number)
    async with page.expect_response(re.compile("/confirmation$")) as answered:
        await page.get_by_role("button", name="Подтвердить личность").click()

    assert (await answered.value).status == 429
    refused = page.get_by_role("alert")
    until = r"\d\d\.\d\d\.\d{4} \d\d:\d\d"
    await expect(refused).to_have_text(
        re.compile(f"Слишком много отказов подряд: подтверждение заблокировано до {until}\\.")
    )
    await assert_accessible(page)
