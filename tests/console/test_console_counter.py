"""A person registered from scratch at the counter, in Chromium on the real stack: the clerk
types the profile from the documents, the code the citizen reads out, sees the checks run,
corrects a passport number the MVD refused, and sees the account confirmed; the citizen then
opens the link from the SMS and sets a password in the browser. A clerk of another center
reaches none of it. Each new screen passes axe-core and is photographed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.journey import ConfirmationMethod, Level, Stage
from registration.messages import CounterClerk
from registration.person import Profile
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from simulators.rules import MISMATCH_SUFFIX
from store import clerks, repository
from store.passwords import verify_password
from tests.clerks import Clerk, applicant, new_center, new_clerk
from tests.console.conftest import VIEWPORT, Shoot, assert_accessible, sign_in
from tests.data import new_phone

PASSWORD = "Zvezda#Polar7"


@asynccontextmanager
async def slow_agencies(outbox: SimulatorControl, seconds: float) -> AsyncIterator[None]:
    """The Pension Fund and the MVD take `seconds` to answer (the session's answer at once)."""
    await outbox.configure(pension_fund_delay_seconds=seconds, mvd_delay_seconds=seconds)
    try:
        yield
    finally:
        await outbox.configure(pension_fund_delay_seconds=0, mvd_delay_seconds=0)


async def fill_profile(page: Page, profile: Profile, *, birth_date: str) -> None:
    """Type the profile as a clerk reads it from the passport and the SNILS."""
    fields = {
        "Фамилия": profile.surname,
        "Имя": profile.name,
        "Отчество": profile.patronymic or "",
        "Дата рождения": birth_date,
        "Место рождения": profile.birth_place,
        "Серия паспорта": f"{profile.passport_series[:2]} {profile.passport_series[2:]}",
        "Номер паспорта": profile.passport_number,
        "Дата выдачи паспорта": f"{profile.passport_issue_date:%d.%m.%Y}",
        "Кем выдан паспорт": profile.passport_issuer,
        "Код подразделения": profile.division_code,
        "СНИЛС": profile.snils,
    }
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_label("Женский", exact=True).check()


async def reload_until(page: Page, text: str, *, times: int = 80) -> None:
    """Press the page's "Обновить состояние" (as the clerk would) until the page says `text`."""
    wanted = page.get_by_text(text).first
    for _ in range(times):
        if await wanted.count():
            break
        await page.wait_for_timeout(250)
        reload = page.get_by_role("link", name="Обновить состояние")
        if await reload.count():
            await reload.click()
    await expect(wanted).to_be_visible()


async def test_a_clerk_registers_a_person_from_scratch_and_the_citizen_sets_a_password(
    page: Page,
    chromium: Browser,
    console: str,
    api_url: str,
    clerk: Clerk,
    outbox: SimulatorControl,
    registrations: Registrations,
    store_engine: AsyncEngine,
    shoot: Shoot,
) -> None:
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    refused_number = profile.passport_number[:3] + MISMATCH_SUFFIX  # the MVD refuses it
    phone = new_phone()
    await sign_in(page, console, clerk)
    await page.get_by_role("link", name="Регистрация").click()
    await expect(page).to_have_url(f"{console}/counter")
    await expect(page.get_by_label("Фамилия", exact=True)).to_be_focused()
    await assert_accessible(page)

    # The form typed with a date that is no date, and a passport number the MVD will refuse.
    await fill_profile(
        page,
        profile.model_copy(update={"passport_number": refused_number}),
        birth_date="31.02.1990",
    )
    await page.get_by_label("Номер мобильного телефона", exact=True).fill(phone)
    await page.get_by_role("button", name="Зарегистрировать и отправить код").click()

    summary = page.get_by_role("alert")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("Введите дату в виде ДД.ММ.ГГГГ")
    birth_date = page.get_by_label("Дата рождения", exact=True)
    await expect(birth_date).to_have_attribute("aria-invalid", "true")
    await expect(birth_date).to_have_attribute(
        "aria-describedby", "birth_date-hint birth_date-error"
    )
    await expect(page.get_by_label("Фамилия", exact=True)).to_have_value(profile.surname)
    await assert_accessible(page)
    await shoot(page, "counter-form")

    await birth_date.fill(f"{profile.birth_date:%d.%m.%Y}")
    await page.get_by_role("button", name="Зарегистрировать и отправить код").click()

    # The code the citizen reads out: one misheard, then the right one.
    await expect(page).to_have_url(re.compile(f"{console}/counter/reg-[0-9a-f]+-1$"))
    registration_id = page.url.rsplit("/", 1)[1]
    code_field = page.get_by_label("Код из СМС", exact=True)
    await expect(code_field).to_be_focused()
    await expect(page.get_by_text("Осталось попыток ввода: 3.")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"Код действует до \d\d:\d\d:\d\d\."))).to_be_visible()
    await expect(page.get_by_text(f"•• •• ••{refused_number[-4:]}")).to_be_visible()
    assert refused_number not in await page.content(), "the documents are shown masked"
    await assert_accessible(page)
    await shoot(page, "counter-code")
    code = await outbox.sms_code(phone)
    await code_field.fill(f"{(int(code) + 1) % 1_000_000:06d}")
    await page.get_by_role("button", name="Подтвердить код").click()
    await expect(page.get_by_role("alert")).to_have_text("Код неверный. Осталось попыток: 2.")
    await expect(page.get_by_role("alert")).to_be_focused()

    async with slow_agencies(outbox, seconds=3):
        await page.get_by_label("Код из СМС", exact=True).fill(code)
        await page.get_by_role("button", name="Подтвердить код").click()

        checking = page.get_by_role("heading", name="Проверка данных в ПФР и МВД…")
        await expect(checking).to_be_visible()
        await expect(page.get_by_role("link", name="Обновить состояние")).to_be_focused()
        await expect(page.get_by_text(re.compile(r"ответ придёт не позднее"))).to_be_visible()
        await assert_accessible(page)
        await shoot(page, "counter-checking")

    # The MVD refuses the passport: the clerk compares it with the passport and corrects it.
    await reload_until(page, "МВД: паспорт недействителен")
    said = page.get_by_role("alert")
    await expect(said).to_contain_text("МВД: паспорт недействителен")
    await expect(said).to_be_focused()
    number = page.get_by_label("Номер паспорта", exact=True)
    await expect(number).to_have_value(refused_number)
    await expect(page.get_by_label("Фамилия", exact=True)).to_have_value(profile.surname)
    await expect(page.get_by_label("Дата рождения", exact=True)).to_have_value(
        f"{profile.birth_date:%d.%m.%Y}"
    )
    await assert_accessible(page)
    await shoot(page, "counter-mismatch")
    await number.fill(profile.passport_number)
    await page.get_by_role("button", name="Отправить на проверку").click()
    checking_again = page.get_by_role("heading", name="Проверка данных в ПФР и МВД…")
    await expect(
        checking_again.or_(page.get_by_text("Учётная запись подтверждена"))
    ).to_be_visible()

    await reload_until(page, "Учётная запись подтверждена")
    await expect(page.get_by_role("status")).to_contain_text(
        "Учётная запись подтверждена; гражданину отправлена ссылка для установки пароля."
    )
    await expect(page.get_by_text(PASSWORD)).to_have_count(0)
    await assert_accessible(page)
    await shoot(page, "counter-confirmed")

    result = await registrations.result(registration_id)
    assert (result.stage, result.method) == (Stage.CONFIRMED, ConfirmationMethod.SERVICE_CENTER)
    trail = await repository.list_audit(store_engine, registration_id)
    started = next(line for line in trail if line.event == "registration_started")
    assert started.actor == f"clerk:{clerk.account_id}"
    events = [e.event for e in await clerks.list_events(store_engine, clerk.account_id)]
    assert "registered" in events

    # The clerk's day lists the registration, linking to it.
    await page.get_by_role("link", name="Мой день").click()
    row = page.get_by_role("row", name=re.compile("Регистрация в центре"))
    await expect(row).to_contain_text("Иванова Мария Петровна")
    await expect(row).to_contain_text("Подтверждено")
    await expect(row).to_contain_text("Вы")
    await expect(page.get_by_role("row")).to_have_count(2)  # its confirmation is no 2nd row
    await assert_accessible(page)
    await shoot(page, "counter-day")
    await row.get_by_role("link").click()
    await expect(page).to_have_url(f"{console}/counter/{registration_id}")

    # The citizen opens the link from the SMS in their own browser and sets a password.
    sent = urlsplit(await outbox.password_link(phone))
    # The link names the portal; the stack's portal is the API (`gosreg stack` makes them one).
    link = f"{api_url}{sent.path}?{sent.query}"
    citizen = await chromium.new_context(viewport=VIEWPORT, locale="ru-RU")  # type: ignore[arg-type]
    try:
        window = await citizen.new_page()
        await window.goto(link)
        await expect(window).to_have_url(f"{api_url}/set-password")
        await expect(window.get_by_role("heading", level=1)).to_have_text("Задайте пароль")
        await expect(window.get_by_label("Пароль", exact=True)).to_be_focused()
        await assert_accessible(window)
        await shoot(window, "set-password")

        weak = f"pass{phone[-7:]}"
        await window.get_by_label("Пароль", exact=True).fill(weak)
        await window.get_by_label("Пароль ещё раз", exact=True).fill(weak)
        await window.get_by_role("button", name="Задать пароль").click()
        await expect(window.locator("#password-error")).to_have_text(
            "Ошибка: Нужна заглавная латинская буква; нужен специальный символ, например "
            "! @ # $ % & *; без номера телефона"
        )
        await expect(window.get_by_role("alert")).to_be_focused()
        await assert_accessible(window)

        await window.get_by_label("Пароль", exact=True).fill(PASSWORD)
        await window.get_by_label("Пароль ещё раз", exact=True).fill(PASSWORD)
        await window.get_by_role("button", name="Задать пароль").click()
        await expect(window).to_have_url(f"{api_url}/set-password/done")
        await expect(window.get_by_role("status")).to_contain_text("войдите на портал")
        await assert_accessible(window)

        await window.goto(link)  # a link sets the password once
        await expect(window.get_by_role("heading", level=1)).to_have_text("Задайте пароль")
        await window.get_by_label("Пароль", exact=True).fill("Other#Pass9")
        await window.get_by_label("Пароль ещё раз", exact=True).fill("Other#Pass9")
        await window.get_by_role("button", name="Задать пароль").click()
        await expect(window.get_by_role("heading", level=1)).to_have_text("Ссылка недействительна")
    finally:
        await citizen.close()

    account = await repository.get_account_for_registration(store_engine, registration_id)
    assert account is not None and account.level is Level.CONFIRMED
    assert verify_password(account.password_hash, PASSWORD)


async def test_a_clerk_of_another_center_reaches_no_registration_made_at_a_counter(
    page: Page,
    console: str,
    clerk: Clerk,
    registrations: Registrations,
    store_engine: AsyncEngine,
    stack_settings: Settings,
) -> None:
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    made_here = CounterClerk(clerk_id=clerk.account_id, service_center_id=clerk.service_center_id)
    started = await registrations.register_at_counter(made_here, profile, phone=new_phone())
    rid = started.registration_id
    elsewhere = await new_clerk(store_engine, stack_settings, center=new_center())
    await sign_in(page, console, elsewhere)
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value") or ""

    await page.goto(f"{console}/counter/{rid}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Не найдено")
    await assert_accessible(page)
    own_origin = {"Origin": console.removesuffix("/console")}
    form: dict[str, str | float | bool] = {"csrf": csrf, "form_id": "a-form-of-my-own-making"}
    for step, typed in (
        ("code", {"code": "123456"}),
        ("new-code", {}),
        ("profile", {"surname": "Петрова", "name": "Анна"}),
    ):
        acted = await page.request.post(
            f"{console}/counter/{rid}/{step}", form={**form, **typed}, headers=own_origin
        )
        assert acted.status == 404, step
    assert (await registrations.state(rid)).stage is Stage.CONTACT
    assert (await registrations.state(rid)).code_attempts_left == 3

    # The registering center's clerks do reach it; a portal registration is not theirs.
    await page.context.clear_cookies()
    await sign_in(page, console, clerk)
    await page.goto(f"{console}/counter/{rid}")
    await expect(page.get_by_label("Код из СМС", exact=True)).to_be_visible()


async def test_a_contact_with_an_account_is_sent_to_confirm_in_person(
    page: Page,
    console: str,
    clerk: Clerk,
    registrations: Registrations,
    outbox: SimulatorControl,
) -> None:
    online = await applicant(registrations, outbox)  # awaiting identity confirmation
    await sign_in(page, console, clerk)
    await page.goto(f"{console}/counter")
    await fill_profile(page, online.profile, birth_date=f"{online.profile.birth_date:%d.%m.%Y}")
    await page.get_by_label("Номер мобильного телефона", exact=True).fill(online.phone)

    async with page.expect_response(re.compile("/console/counter$")) as answered:
        await page.get_by_role("button", name="Зарегистрировать и отправить код").click()

    assert (await answered.value).status == 409
    refused = page.get_by_role("alert")
    await expect(refused).to_contain_text("уже есть учётная запись")
    await expect(refused).to_be_focused()
    await refused.get_by_role("link", name="Найти заявку и подтвердить личность").click()
    await expect(page).to_have_url(f"{console}/search")
