"""`gosreg tokens` against the test database: a token is printed once, listed never, refused
once revoked or rotated, and a person's token expires."""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ops import tokens
from registration.callers import Role
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


def printed_token(out: str) -> str:
    found = re.search(r"token: (gsr_\S+)", out)
    assert found is not None, out
    return found[1]


async def record_of(engine: AsyncEngine, client_id: str) -> access.ClientRecord:
    return next(record for record in await access.list_clients(engine) if record.id == client_id)


@pytest.mark.parametrize(
    ("argv", "machine_days", "lifetime"),
    [
        (["--role", "support"], None, timedelta(hours=12)),
        (["--role", "clerk", "--service-center", "mfc-77-001"], None, timedelta(hours=12)),
        (["--role", "portal"], None, None),
        (["--role", "bank"], "30", timedelta(days=30)),
    ],
)
async def test_a_token_lives_as_long_as_its_role_is_configured_to(
    store_engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    machine_days: str | None,
    lifetime: timedelta | None,
) -> None:
    if machine_days is not None:
        monkeypatch.setenv("GOSREG_MACHINE_TOKEN_LIFETIME_DAYS", machine_days)

    await gosreg_tokens("create", "--name", "Кто-то", *argv)

    created = capsys.readouterr().out
    client_id = re.search(r"client (cl_\w+)", created)
    assert client_id is not None
    record = await record_of(store_engine, client_id[1])
    if lifetime is None:
        assert record.expires_at is None
        assert "expires" not in created
    else:
        assert record.expires_at is not None
        assert abs(record.expires_at - record.created_at - lifetime) < timedelta(seconds=5)
        assert "It expires in" in created
    await gosreg_tokens("list")
    header, *lines = capsys.readouterr().out.splitlines()
    line = next(line for line in lines if client_id[1] in line)
    expires = line[header.index("EXPIRES") :]
    assert expires.startswith(
        "-" if lifetime is None else f"{record.expires_at:%Y-%m-%d %H:%M} UTC"
    )


async def test_rotate_prints_a_new_token_and_refuses_the_old_one_at_once(
    store_engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    principal, old = await access.create_client(
        store_engine, PEPPER.encode(), Role.SUPPORT, "Поддержка", lifetime=timedelta(seconds=1)
    )
    await asyncio.sleep(1.1)
    assert await access.authenticate(store_engine, PEPPER.encode(), old) is None  # expired

    await gosreg_tokens("rotate", principal.client_id)

    rotated = capsys.readouterr().out
    assert f"rotated support client {principal.client_id}" in rotated
    new = printed_token(rotated)
    assert new != old
    assert await access.authenticate(store_engine, PEPPER.encode(), old) is None
    assert await access.authenticate(store_engine, PEPPER.encode(), new) == principal
    record = await record_of(store_engine, principal.client_id)
    assert record.expires_at is not None and record.expires_at > record.created_at + timedelta(
        hours=11
    )
    await gosreg_tokens("list")
    assert new not in capsys.readouterr().out


async def test_rotate_refuses_a_revoked_or_unknown_client(store_engine: AsyncEngine) -> None:
    principal, token = await access.create_client(
        store_engine, PEPPER.encode(), Role.PORTAL, "Портал"
    )
    await access.revoke_client(store_engine, principal.client_id)

    for client_id in (principal.client_id, "cl_nobody"):
        with pytest.raises(SystemExit, match=f"no active client {client_id}"):
            await gosreg_tokens("rotate", client_id)

    assert await access.authenticate(store_engine, PEPPER.encode(), token) is None
