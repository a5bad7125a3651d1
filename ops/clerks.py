"""`gosreg clerks`: create, list and disable the accounts clerks sign in to the console with.

    gosreg clerks create --login anna.petrova --name "Анна Петрова" --service-center mfc-77-001
    printf '%s\\n' "$PASSWORD" | gosreg clerks create ... --password-stdin
    gosreg clerks list
    gosreg clerks disable anna.petrova

`create` prints, once, the initial password (unless one came on standard input) and the TOTP
secret, as text, as an `otpauth://` URI and as a QR code for an authenticator app; neither can
be shown again (the password is kept as a hash, the secret encrypted with a key derived from
the token pepper, which the API must share). `disable` refuses the account's sign-ins and ends
its sessions at once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import segno
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.errors import InvalidInput
from service import clerk_accounts
from service.clerk_accounts import Enrolment
from settings import Settings, load_settings
from store.clerks import ClerkRecord, LoginTaken
from store.db import make_engine, migrate
from store.embedded import database_url


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `clerks` and its subcommands to `gosreg`'s subcommands; `run` carries them out."""
    parser = commands.add_parser("clerks", help="create, list and disable clerk console accounts")
    actions = parser.add_subparsers(dest="clerks_command", required=True)
    create = actions.add_parser(
        "create", help="create an account; print its password and TOTP secret, once"
    )
    create.add_argument("--login", required=True, help="what the clerk signs in with")
    create.add_argument("--name", required=True, help="the clerk's full name")
    create.add_argument(
        "--service-center",
        dest="service_center_id",
        required=True,
        metavar="ID",
        help="the service center the clerk works for, e.g. mfc-77-001",
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the initial password from the first line of standard input instead of "
        "making one up",
    )
    actions.add_parser("list", help="list every account, disabled ones included")
    disable = actions.add_parser("disable", help="refuse the account's sign-ins, end its sessions")
    disable.add_argument("login")


def run(args: argparse.Namespace) -> None:
    """Carry out the `clerks` subcommand parsed into `args` on a schema brought up to date
    first. A refusal (malformed input, a login in use, an unknown login) exits with status 1
    and says why."""
    settings = load_settings()
    url = database_url(settings)
    migrate(url)
    password = (
        sys.stdin.readline().rstrip("\r\n") if getattr(args, "password_stdin", False) else None
    )
    asyncio.run(_carry_out(args, settings, make_engine(url), password))


async def _carry_out(
    args: argparse.Namespace, settings: Settings, engine: AsyncEngine, password: str | None
) -> None:
    try:
        if args.clerks_command == "create":
            enrolment = await clerk_accounts.create_clerk(
                engine,
                settings.token_pepper_bytes,
                login=args.login,
                name=args.name,
                service_center_id=args.service_center_id,
                password=password,
            )
            _print_enrolment(enrolment, settings)
        elif args.clerks_command == "list":
            _print_accounts(await clerk_accounts.list_clerks(engine))
        elif (disabled := await clerk_accounts.disable_clerk(engine, args.login)) is None:
            raise SystemExit(f"no enabled clerk account with login {args.login}")
        else:
            print(f"disabled {disabled} ({args.login}): it cannot sign in, its sessions ended")
    except InvalidInput as refusal:
        raise SystemExit("\n".join(error.message for error in refusal.errors)) from None
    except LoginTaken:
        raise SystemExit(f"the login {args.login} is taken") from None
    finally:
        await engine.dispose()


def _print_enrolment(enrolment: Enrolment, settings: Settings) -> None:
    print(
        f"created clerk {enrolment.account_id} (login {enrolment.login}) "
        f"of service center {enrolment.service_center_id}"
    )
    if enrolment.password is not None:
        print(f"initial password: {enrolment.password}")
    secret = " ".join(
        enrolment.totp_secret[i : i + 4] for i in range(0, len(enrolment.totp_secret), 4)
    )
    print(f"TOTP secret: {secret}")
    print(f"otpauth URI: {enrolment.uri}")
    print("Scan this with an authenticator app (or type the secret into it):")
    segno.make(enrolment.uri, error="m").terminal(out=sys.stdout, compact=True)
    print(
        "Shown only this once: the password is kept as a hash, the secret encrypted.\n"
        f"Sign in at {settings.console_url} with the login, the password and the app's code."
    )


def _print_accounts(accounts: list[ClerkRecord]) -> None:
    if not accounts:
        print("no clerk accounts")
        return
    rows = [("ID", "LOGIN", "SERVICE CENTER", "CREATED", "DISABLED", "LOCKED UNTIL", "NAME")]
    rows += [
        (
            account.id,
            account.login,
            account.service_center_id,
            _when(account.created_at),
            _when(account.disabled_at),
            _when(account.locked_until),
            account.name,
        )
        for account in accounts
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _when(moment: object) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M UTC}"
