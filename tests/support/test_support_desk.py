"""Support's first minutes in the Temporal UI, in a real browser (Debian's Chromium, driven by
Playwright) on the real stack: a link to a stuck registration leads to the desk's sign-in, a
support token is all it takes, and the registration's input and plain-words state are then
decoded, with nothing set up in the browser — while the UI served raw by the dev server shows
only ciphertext, and nothing personal reaches the stack's logs.

Screenshots go to `$GOSREG_SUPPORT_SCREENSHOTS` (default: the test run's temporary directory);
`GOSREG_SUPPORT_SCREENSHOTS=docs pytest tests/support/test_support_desk.py` refreshes the
README's `docs/support-*.png`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright, expect

from codec.server import SESSION_COOKIE
from simulators.control import SimulatorControl
from tests.running_stack import LocalStack, Person, reach_verification

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1440, "height": 900}
CODEC_FAILED = "Codec Server could not connect"  # the UI's banner


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("GOSREG_SUPPORT_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("support-screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest_asyncio.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh browser profile: no cookies, nothing in localStorage, no codec setting."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield await context.new_page()
        await browser.close()


async def test_support_signs_in_once_and_reads_a_stuck_registration_decoded(
    stack: LocalStack, tokens: dict[str, str], page: Page, screenshots: Path
) -> None:
    person = Person.new()
    portal = {"Authorization": f"Bearer {tokens['portal']}"}
    async with (
        httpx.AsyncClient(base_url=stack.api, headers=portal, timeout=30) as api,
        SimulatorControl(stack.simulators) as simulators,
    ):
        rid, _ = await reach_verification(api, simulators, person)
    desk = stack.codec
    link = f"{desk}/namespaces/registrations/workflows/{rid}"

    async def shoot(name: str) -> None:
        await page.screenshot(path=screenshots / f"support-{name}.png")

    # The link `gosreg stuck` prints: a stranger is asked to sign in, and nothing else.
    await page.goto(link)
    await expect(page.get_by_label("Support token")).to_be_visible()
    assert page.url.startswith(f"{desk}/login?next=")
    await shoot("sign-in")

    # One token later: the registration, its input decoded (no codec setting in this browser).
    await page.get_by_label("Support token").fill(tokens["support"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(person.surname)).to_be_visible()
    assert page.url.startswith(link)
    await expect(page.locator("#content").get_by_text(CODEC_FAILED)).to_have_count(0)
    await expect(page.get_by_role("button", name="Request Cancellation")).to_be_disabled()
    await shoot("registration")

    # The slow agency: its check's attempts, next retry and last failure, decoded.
    await page.get_by_role("tab", name="Pending Activities").click()
    await expect(page.get_by_text("check_pension_fund").first).to_be_visible()
    await expect(page.get_by_text("Pension Fund has not answered yet")).to_be_visible()
    await shoot("pending")

    # Its state in plain words: User Metadata, Current Details (the UI renders the summary,
    # the details and the current details each in a frame of its own, in that order).
    await page.get_by_role("tab", name="User Metadata").click()
    await expect(page.get_by_role("heading", name="Current Details")).to_be_visible()
    rendered = page.locator("iframe")
    summary, current = rendered.first.content_frame, rendered.last.content_frame
    await expect(summary.get_by_text("Citizen registration by sms")).to_be_visible()
    await expect(current.get_by_text("Waiting for the Pension Fund answer since")).to_be_visible()
    await shoot("current-details")

    # The list, with support's columns, from the desk's start page.
    await page.goto(f"{desk}/")
    await expect(page.get_by_text(f"Signed in as {tokens['support_id']}")).to_be_visible()
    await shoot("start")
    await page.get_by_role("link", name="Open the registrations").click()
    row = page.get_by_role("row").filter(has_text=rid)
    await expect(row).to_contain_text("verification")
    await expect(row).to_contain_text("pension_fund")
    header = page.get_by_role("columnheader", name="RegistrationStage", exact=True)
    await expect(header).to_be_visible()
    await shoot("list")

    # Control: the dev server's own UI, same browser, same sign-in — nothing decoded there.
    await page.goto(f"{stack.ui}/namespaces/registrations/workflows/{rid}")
    await expect(page.locator("#content").get_by_text(CODEC_FAILED)).to_be_visible()
    assert person.surname not in await page.content()

    # A sign-in that ends while the UI is open: the UI's next page fails (its error page, or
    # its own redirect to the sign-in); a reload goes to the sign-in, and the desk brings
    # support back to that page.
    await page.goto(f"{desk}/namespaces/registrations/workflows")
    await expect(page.get_by_role("link", name=rid)).to_be_visible()
    await page.context.clear_cookies(name=SESSION_COOKIE)
    await page.get_by_role("link", name=rid).click()
    token_field = page.get_by_label("Support token")
    refresh = page.get_by_role("button", name="Try a refresh")
    await expect(token_field.or_(refresh)).to_be_visible()
    if await refresh.is_visible():
        await refresh.click()
    await token_field.fill(tokens["support"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(person.surname)).to_be_visible()
    assert page.url.startswith(link)

    # Signed out, the desk's UI is closed again.
    await page.goto(f"{desk}/")
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(link)
    await expect(page.get_by_label("Support token")).to_be_visible()

    logs = (stack.data_dir / "stack.log").read_bytes()
    found = [label for label, needle in person.needles().items() if needle in logs]
    assert found == [], "personal data in the logs of the desk's traffic"
    assert tokens["support"].encode() not in logs
