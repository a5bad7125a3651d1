"""`gosreg tokens` against the test database: a token is printed once, listed never, and
refused once revoked."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import Role
from ops import tokens
from store import access

PEPPER = "cli-test-pepper"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("GOSREG_DATABASE_URL", postgres_url)
    monkeypatch.setenv("GOSREG_TOKEN_PEPPER", PEPPER)
    monkeypatch.setenv("GOSREG_DATA_DIR", str(tmp_path))


async def gosreg_tokens(*argv: str) -> None:
    """Parse `gosreg tokens <argv>` as the CLI would and run it. `run` starts its own event
    loop, so it runs in a thread, away from the test's."""
    parser = argparse.ArgumentParser(prog="gosreg")
    tokens.add_parser(parser.add_subparsers(dest="command", required=True))
    await asyncio.to_thread(tokens.run, parser.parse_args(["tokens", *argv]))


async def test_create_prints_a_token_once_that_authenticates_as_the_clerk(
    store_engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    await gosreg_tokens(
        "create", "--role", "clerk", "--name", "Анна Петрова", "--service-center", "mfc-77-001"
    )

    created = capsys.readouterr().out
    client_id = re.search(r"created clerk client (cl_\w+) of service center mfc-77-001", created)
    token = re.search(r"token: (gsr_\S+)", created)
    assert client_id is not None and token is not None
    principal = await access.authenticate(store_engine, PEPPER.encode(), token[1])
    assert principal is not None
    assert (principal.client_id, principal.role, principal.name) == (
        client_id[1],
        Role.CLERK,
        "Анна Петрова",
    )
    assert principal.service_center_id == "mfc-77-001"

    await gosreg_tokens("list")

    listed = capsys.readouterr().out
    line = next(line for line in listed.splitlines() if client_id[1] in line)
    assert "clerk" in line and "mfc-77-001" in line and "Анна Петрова" in line
    assert token[1] not in listed


async def test_revoke_refuses_the_token_from_then_on(
    store_engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    principal, token = await access.create_client(
        store_engine, PEPPER.encode(), Role.PORTAL, "Портал"
    )

    await gosreg_tokens("revoke", principal.client_id)

    assert f"revoked {principal.client_id}" in capsys.readouterr().out
    assert await access.authenticate(store_engine, PEPPER.encode(), token) is None
    await gosreg_tokens("list")
    header, *lines = capsys.readouterr().out.splitlines()
    line = next(line for line in lines if principal.client_id in line)
    revoked_at = line[header.index("REVOKED") :]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC ", revoked_at)

    with pytest.raises(SystemExit, match=f"no active client {principal.client_id}"):
        await gosreg_tokens("revoke", principal.client_id)


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "--role", "clerk", "--name", "Без центра"],
        ["create", "--role", "bank", "--name", "Банк", "--service-center", "mfc-77-001"],
    ],
)
async def test_create_refuses_a_service_center_that_does_not_fit_the_role(
    store_engine: AsyncEngine, argv: list[str]
) -> None:
    before = await access.list_clients(store_engine)

    with pytest.raises(SystemExit, match="service center"):
        await gosreg_tokens(*argv)

    assert await access.list_clients(store_engine) == before


async def test_create_refuses_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        await gosreg_tokens("create", "--role", "admin", "--name", "Кто-то")

    assert "argument --role: invalid" in capsys.readouterr().err
