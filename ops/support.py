"""Support commands: what is stuck, what happened to a registration, and the payload keys.

    gosreg stuck                      stuck registrations by stage and agency, with UI links
    gosreg stuck --hours 2 --stage verification
    gosreg stuck --filters            the Temporal UI filters for the common questions
    gosreg audit reg-…                a registration's audit trail (who did what, when)
    gosreg keys list | rotate         payload encryption keys (ids only; keys never print)
    gosreg keys add | activate ID | retire ID      a rolling rotation, step by step

Acting on a registration (retry the checks, re-send the letter, extend a deadline, cancel) goes
through the API with a support token: README, "Support runbook", has the commands.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from codec.keys import Keyring, change_keyring_file
from registration.journey import Stage
from service.registrations import Registrations
from service.support import find_stuck, render_report, ui_filters
from service.temporal import connect
from settings import load_settings
from store import repository
from store.db import make_engine
from store.embedded import database_url
from store.repository import RegistrationNotFound


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stuck = commands.add_parser("stuck", help="list stuck registrations, by stage and agency")
    stuck.add_argument(
        "--hours", type=float, help="in their stage this long (default: each stage's rule)"
    )
    stuck.add_argument("--stage", type=Stage, choices=list(Stage), help="only this stage")
    stuck.add_argument(
        "--filters", action="store_true", help="print the Temporal UI filters instead"
    )
    explain = commands.add_parser(
        "explain", help="tell a registration's whole life in plain words, from its history"
    )
    explain.add_argument("registration_id")
    explain.add_argument(
        "--reveal", action="store_true", help="name the person (name, contact); audited"
    )
    explain.add_argument(
        "--actor", help="who asks to reveal, for the audit (e.g. support:cl_…); with --reveal"
    )
    audit = commands.add_parser("audit", help="print a registration's audit trail")
    audit.add_argument("registration_id")
    keys = commands.add_parser("keys", help="payload encryption keys of the local data dir")
    keys.add_argument("keys_command", choices=["list", "rotate", "add", "activate", "retire"])
    keys.add_argument("key_id", nargs="?", help="for activate and retire")


def run(args: argparse.Namespace) -> None:
    if args.command == "stuck":
        asyncio.run(stuck(args.hours, args.stage, args.filters))
    elif args.command == "explain":
        if args.reveal and not args.actor:
            raise SystemExit("--reveal needs --actor (e.g. support:cl_…): the request is audited")
        asyncio.run(explain(args.registration_id, args.actor if args.reveal else None))
    elif args.command == "audit":
        asyncio.run(audit(args.registration_id))
    elif args.command == "keys":
        keys(args.keys_command, args.key_id)


async def stuck(hours: float | None, stage: Stage | None, filters: bool) -> None:
    settings = load_settings()
    now = datetime.now(UTC)
    if filters:
        for question, query in ui_filters(now).items():
            print(f"# {question}\n{query}\n")
        return
    client = await connect(settings)
    older_than = timedelta(hours=hours) if hours is not None else None
    found = await find_stuck(
        client, now, older_than=older_than, stage=stage, task_queue=settings.temporal_task_queue
    )
    print(render_report(found, settings.support_workflows_url, now))


async def explain(registration_id: str, revealed_to: str | None) -> None:
    """Print the story; name the person only for `revealed_to`, recorded first."""
    settings = load_settings()
    engine = make_engine(database_url(settings))
    try:
        registrations = Registrations(
            await connect(settings),
            engine,
            task_queue=settings.temporal_task_queue,
            code_secret=settings.code_secret_bytes,
        )
        try:
            story = await registrations.explain(
                registration_id, actor=revealed_to or "operator", reveal=revealed_to is not None
            )
        except RegistrationNotFound:
            raise SystemExit(f"Temporal knows no registration {registration_id}") from None
    finally:
        await engine.dispose()
    print(story.render(datetime.now(UTC)), end="")


async def audit(registration_id: str) -> None:
    engine = make_engine(database_url(load_settings()))
    try:
        trail = await repository.list_audit(engine, registration_id)
    finally:
        await engine.dispose()
    if not trail:
        raise SystemExit(f"no audit trail for {registration_id}")
    for line in trail:
        details = json.dumps(line.details, ensure_ascii=False, default=str)
        print(
            f"{line.seq:>4}  {line.recorded_at:%Y-%m-%d %H:%M:%S} UTC  {line.stage.value:<22}"
            f"{line.event:<24}{line.actor:<28}{details}"
        )


def keys(command: str, key_id: str | None) -> None:
    """Keys in `GOSREG_CODEC_KEYS` are managed where that is configured; these commands
    manage the local ring under the data directory (development). A rolling rotation is
    `add` (every process learns the key), then `activate` (new payloads use it), then, once
    nothing encrypted with the old key is still needed, `retire` of the old one."""
    settings = load_settings()
    path = settings.data_dir / "codec_keys.json"
    if settings.codec_keys is not None and command != "list":
        raise SystemExit("GOSREG_CODEC_KEYS is set: change the keys where it is configured")
    if command in ("activate", "retire") and key_id is None:
        raise SystemExit(f"gosreg keys {command} needs the key id (see gosreg keys list)")
    changes: dict[str, Callable[[Keyring], Keyring]] = {
        "rotate": Keyring.rotated,
        "add": Keyring.added,
        "activate": lambda ring: ring.activated(str(key_id)),
        "retire": lambda ring: ring.retired(str(key_id)),
    }
    if command in changes:
        try:
            ring = change_keyring_file(path, changes[command])
        except ValueError as error:
            raise SystemExit(str(error)) from None
        print("done; restart the worker, the API and the codec server to use it")
    else:
        ring = settings.keyring
    for known in ring.keys:
        print(f"{known}{'  (active)' if known == ring.active else ''}")
