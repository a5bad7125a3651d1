"""`gosreg tokens`: create, list, rotate and revoke the API's clients and their tokens.

    gosreg tokens create --role clerk --name "Анна Петрова" --service-center mfc-77-001
    gosreg tokens list
    gosreg tokens rotate cl_…
    gosreg tokens revoke cl_…

A token is printed once, by `create` or `rotate`, and stored only as a hash keyed with the
configured pepper (`GOSREG_TOKEN_PEPPER`, else generated under the data directory): the API
must run with the same pepper to recognise it. A person's token (clerk, support) expires
`GOSREG_STAFF_TOKEN_LIFETIME_HOURS` (12) after it was created or rotated; a system's token
(portal, bank, e-signature) lives until rotated or revoked, unless
`GOSREG_MACHINE_TOKEN_LIFETIME_DAYS` is set. `rotate` issues a new token for the same client
(an expired one too) and refuses the old one at once. A lost token is not recovered, but
rotated or revoked.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Role
from settings import Settings, load_settings
from store import access
from store.db import make_engine, migrate
from store.embedded import database_url


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `tokens` and its subcommands to `gosreg`'s subcommands; `run` carries them out."""
    tokens = commands.add_parser("tokens", help="create, list and revoke API tokens")
    actions = tokens.add_subparsers(dest="tokens_command", required=True)

    create = actions.add_parser("create", help="create a client and print its token, once")
    create.add_argument("--role", required=True, type=Role, choices=list(Role))
    create.add_argument(
        "--name", required=True, help="who holds the token: a clerk's full name, a system's name"
    )
    create.add_argument(
        "--service-center",
        dest="service_center_id",
        metavar="ID",
        help="the service center a clerk works for (clerks only; required for them)",
    )
    actions.add_parser("list", help="list every client, revoked ones included")
    rotate = actions.add_parser(
        "rotate", help="give the client a new token, print it once, refuse the old one"
    )
    rotate.add_argument("client_id")
    revoke = actions.add_parser("revoke", help="refuse the client's token from now on")
    revoke.add_argument("client_id")


def run(args: argparse.Namespace) -> None:
    """Carry out the `tokens` subcommand parsed into `args`, on a schema brought up to date
    first (tokens are often the first thing an operator sets up). A refusal (bad combination
    of role and service center, unknown client) exits with status 1 and says why."""
    settings = load_settings()
    url = database_url(settings)
    migrate(url)
    asyncio.run(_run(args, settings, url))


async def _run(args: argparse.Namespace, settings: Settings, url: str) -> None:
    engine = make_engine(url)
    try:
        if args.tokens_command == "create":
            await _create(args, settings, engine)
        elif args.tokens_command == "list":
            _print_clients(await access.list_clients(engine))
        elif args.tokens_command == "rotate":
            await _rotate(args, settings, engine)
        elif args.tokens_command == "revoke":
            if not await access.revoke_client(engine, args.client_id):
                raise SystemExit(f"no active client {args.client_id}")
            print(f"revoked {args.client_id}: its token is refused from now on")
    finally:
        await engine.dispose()


async def _create(args: argparse.Namespace, settings: Settings, engine: AsyncEngine) -> None:
    try:
        lifetime = access.token_lifetime(settings, args.role)
        principal, token = await access.create_client(
            engine,
            settings.token_pepper_bytes,
            args.role,
            args.name,
            args.service_center_id,
            lifetime,
        )
    except ValueError as refusal:
        raise SystemExit(str(refusal)) from None
    where = (
        f" of service center {principal.service_center_id}" if principal.service_center_id else ""
    )
    print(f"created {principal.role} client {principal.client_id}{where}")
    _print_token(token, lifetime)


async def _rotate(args: argparse.Namespace, settings: Settings, engine: AsyncEngine) -> None:
    try:
        rotated = await access.rotate_client(
            engine, settings.token_pepper_bytes, args.client_id, settings
        )
    except ValueError as refusal:
        raise SystemExit(str(refusal)) from None
    if rotated is None:
        raise SystemExit(f"no active client {args.client_id}")
    principal, token = rotated
    print(f"rotated {principal.role} client {principal.client_id}: its old token is refused")
    _print_token(token, access.token_lifetime(settings, principal.role))


def _print_token(token: str, lifetime: timedelta | None) -> None:
    print(f"token: {token}")
    if lifetime is not None:
        print(f"It expires in {_duration(lifetime)}; renew it with `gosreg tokens rotate`.")
    print("The token is shown only this once: it is kept as a hash and cannot be shown again.")


def _print_clients(clients: list[access.ClientRecord]) -> None:
    if not clients:
        print("no API clients")
        return
    rows = [("ID", "ROLE", "SERVICE CENTER", "CREATED", "LAST USED", "EXPIRES", "REVOKED", "NAME")]
    rows += [
        (
            client.id,
            client.role.value,
            client.service_center_id or "-",
            _when(client.created_at),
            _when(client.last_used_at),
            _when(client.expires_at),
            _when(client.revoked_at),
            client.name,
        )
        for client in clients
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _duration(lifetime: timedelta) -> str:
    hours = lifetime.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"
