"""`gosreg clerks` against the test database: an account's password and TOTP secret are
printed once, with a URI and a QR code an authenticator app enrols from; the list shows
neither; a disabled account signs in no more."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ops import clerks
from service.clerk_signin import ClerkSignIn, Credentials, SignInRefused
from settings import Settings
from store import clerks as clerk_store
from store.passwords import verify_password
from tests.clerks import Clerk

PEPPER = "clerks-cli-test-pepper"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("GOSREG_DATABASE_URL", postgres_url)
    monkeypatch.setenv("GOSREG_TOKEN_PEPPER", PEPPER)
    monkeypatch.setenv("GOSREG_DATA_DIR", str(tmp_path))


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=postgres_url, token_pepper=PEPPER, data_dir=tmp_path)


async def gosreg_clerks(*argv: str) -> None:
    """Parse `gosreg clerks <argv>` as the CLI would and run it (in a thread: `run` starts
    its own event loop)."""
    parser = argparse.ArgumentParser(prog="gosreg")
    clerks.add_parser(parser.add_subparsers(dest="command", required=True))
    await asyncio.to_thread(clerks.run, parser.parse_args(["clerks", *argv]))


def new_login() -> str:
    return f"anna-{uuid.uuid4().hex[:8]}"


def printed(out: str, label: str) -> str:
    found = re.search(rf"^{label}: (.+)$", out, re.MULTILINE)
    assert found is not None, out
    return found[1]


async def test_create_prints_a_password_and_a_secret_once_that_sign_in(
    store_engine: AsyncEngine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    login = new_login()

    await gosreg_clerks(
        "create", "--login", login, "--name", "Анна Петрова", "--service-center", "mfc-77-001"
    )

    out = capsys.readouterr().out
    account_id = re.search(
        rf"created clerk (clk_\w+) \(login {login}\) of service center mfc-77-001", out
    )
    assert account_id is not None, out
    password = printed(out, "initial password")
    secret = printed(out, "TOTP secret").replace(" ", "")
    uri = urlsplit(printed(out, "otpauth URI"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["gosreg"]
    assert "▀" in out or "█" in out, "a QR code in the terminal"
    assert "http://127.0.0.1:8000/console/" in out

    clerk = Clerk(account_id[1], login, "Анна Петрова", "mfc-77-001", password, secret)
    principal, _ = await ClerkSignIn(store_engine, settings).sign_in(
        Credentials(login=login, password=password, code=clerk.code())
    )
    assert principal.client_id == account_id[1]

    await gosreg_clerks("list")
    listed = capsys.readouterr().out
    line = next(line for line in listed.splitlines() if login in line)
    assert "mfc-77-001" in line and "Анна Петрова" in line
    assert password not in listed and secret not in listed


async def test_the_password_can_come_on_standard_input(
    store_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    login = new_login()
    monkeypatch.setattr("sys.stdin", io.StringIO("Okno-Kassa#2024\n"))

    await gosreg_clerks(
        "create",
        "--login",
        login,
        "--name",
        "Анна Петрова",
        "--service-center",
        "mfc-77-001",
        "--password-stdin",
    )

    assert "initial password" not in capsys.readouterr().out
    account = await clerk_store.find_for_sign_in(store_engine, login)
    assert account is not None and verify_password(account.password_hash, "Okno-Kassa#2024")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--login", "a", "--service-center", "mfc-77-001"], "A login is 3-64"),
        (["--login", "anna petrova", "--service-center", "mfc-77-001"], "A login is 3-64"),
        (["--login", "anna-ok", "--service-center", "mfc 77"], "service center id"),
    ],
)
async def test_create_refuses_malformed_input(
    store_engine: AsyncEngine, argv: list[str], says: str
) -> None:
    before = await clerk_store.list_accounts(store_engine)

    with pytest.raises(SystemExit, match=says):
        await gosreg_clerks("create", "--name", "Анна Петрова", *argv)

    assert await clerk_store.list_accounts(store_engine) == before


async def test_a_weak_password_on_standard_input_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short1!A\n"))

    with pytest.raises(SystemExit, match="at least 12 characters"):
        await gosreg_clerks(
            "create",
            "--login",
            new_login(),
            "--name",
            "Анна Петрова",
            "--service-center",
            "mfc-77-001",
            "--password-stdin",
        )


async def test_a_login_in_use_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    login = new_login()
    argv = ["create", "--login", login, "--name", "Анна", "--service-center", "mfc-77-001"]
    await gosreg_clerks(*argv)

    with pytest.raises(SystemExit, match=f"the login {login.upper()} is taken"):
        await gosreg_clerks(*argv[:2], login.upper(), *argv[3:])


async def test_disable_refuses_the_accounts_sign_ins_from_then_on(
    store_engine: AsyncEngine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    login = new_login()
    await gosreg_clerks(
        "create", "--login", login, "--name", "Анна Петрова", "--service-center", "mfc-77-001"
    )
    out = capsys.readouterr().out
    clerk = Clerk(
        "",
        login,
        "",
        "",
        printed(out, "initial password"),
        printed(out, "TOTP secret").replace(" ", ""),
    )

    await gosreg_clerks("disable", login)

    assert "disabled clk_" in capsys.readouterr().out
    with pytest.raises(SignInRefused):
        await ClerkSignIn(store_engine, settings).sign_in(
            Credentials(login=login, password=clerk.password, code=clerk.code())
        )
    await gosreg_clerks("list")
    line = next(line for line in capsys.readouterr().out.splitlines() if login in line)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", line)
    with pytest.raises(SystemExit, match=f"no enabled clerk account with login {login}"):
        await gosreg_clerks("disable", login)
