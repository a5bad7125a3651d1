"""The console in a real browser: Debian's Chromium driven by Playwright, against the API served
over HTTP on loopback in front of the session's stack (Temporal dev server, worker, simulators,
PostgreSQL). One browser for the session; each test gets a fresh context (no cookies) and a
clerk of its own.

Screenshots of the main screens go to `$GOSREG_CONSOLE_SCREENSHOTS` (default: the test run's
temporary directory); `GOSREG_CONSOLE_SCREENSHOTS=docs pytest tests/console` refreshes the
README's `docs/console-*.png`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from service.registrations import Registrations
from serving import ServerThread
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens, api_url, tokens
from tests.clerks import Applicant, Clerk, applicant, new_center, new_clerk

__all__ = ["Tokens", "api_url", "tokens"]

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1280, "height": 860}
SERIOUS = {"serious", "critical"}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(chromium: Browser) -> AsyncIterator[Page]:
    """A fresh browser window: no cookies, Russian, short timeouts."""
    context = await chromium.new_context(viewport=VIEWPORT, locale="ru-RU")  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    window = await context.new_page()
    yield window
    await context.close()


@pytest.fixture
def console(api_url: str) -> str:
    return f"{api_url}/console"


@pytest_asyncio.fixture(loop_scope="session")
async def clerk(store_engine: AsyncEngine, stack_settings: Settings) -> Clerk:
    return await new_clerk(store_engine, stack_settings, center=new_center())


@pytest_asyncio.fixture(loop_scope="session")
async def citizen(registrations: Registrations, outbox: SimulatorControl) -> Applicant:
    return await applicant(registrations, outbox)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("GOSREG_CONSOLE_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("console-screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


Shoot = Callable[[Page, str], Any]


@pytest.fixture
def shoot(screenshots: Path) -> Shoot:
    """`await shoot(page, "search")` saves the page as `console-search.png`."""

    async def save(page: Page, name: str) -> None:
        await page.screenshot(path=screenshots / f"console-{name}.png", full_page=True)

    return save


_axe = Axe()


async def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = await _axe.run(page)
    found = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert found == [], "\n".join(found)


async def sign_in(page: Page, console: str, clerk: Clerk, *, code: str | None = None) -> None:
    """Sign in as `clerk` with the app's current code (or `code`), as a clerk would."""
    await page.goto(f"{console}/sign-in")
    await page.get_by_label("Логин", exact=True).fill(clerk.login)
    await page.get_by_label("Пароль", exact=True).fill(clerk.password)
    await page.get_by_label("Код из приложения", exact=True).fill(code or clerk.code())
    await page.get_by_role("button", name="Войти").click()


ConsoleWith = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def console_with(stack_settings: Settings, stack_worker: None) -> Iterator[ConsoleWith]:
    """`async with console_with(setting=value, …) as console:` the console of an API of the
    session's stack whose settings differ by those values."""

    @asynccontextmanager
    async def serve(**changes: Any) -> AsyncIterator[str]:
        settings = stack_settings.model_copy(update=changes)
        with ServerThread(create_app(settings), name="console-variant", lifespan="on") as server:
            yield f"{server.url}/console"

    yield serve
