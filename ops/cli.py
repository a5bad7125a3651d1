"""`gosreg`: one command for the local stack, the demo, the services, tokens and support."""

from __future__ import annotations

import argparse
import asyncio

from ops import clerks, consistency, support, tokens
from service.temporal import exit_without_finalization

# Commands that hold a Temporal client until the process ends (see exit_without_finalization).
HOLD_A_TEMPORAL_CLIENT = frozenset({"stack", "demo", "worker", "api", "stuck", "search-attributes"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gosreg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    stack = commands.add_parser(
        "stack", help="run Temporal, PostgreSQL, simulators and worker (Ctrl-C stops)"
    )
    stack.add_argument(
        "--observability",
        action="store_true",
        help="also run Prometheus over every process of the stack (Debian's `prometheus`)",
    )
    demo = commands.add_parser(
        "demo", help="walk one registration to `confirmed` on the running stack"
    )
    demo.add_argument(
        "--until",
        choices=["identity"],
        help="stop when it awaits identity confirmation (for a clerk at the console)",
    )
    commands.add_parser("worker", help="run only the worker")
    commands.add_parser("migrate", help="bring the account store's schema up to date")
    commands.add_parser(
        "search-attributes", help="register the search attributes on the configured Temporal"
    )
    commands.add_parser("api", help="run the HTTP API (uvicorn)")
    commands.add_parser("codec-server", help="run the codec server for the Temporal UI and CLI")
    commands.add_parser(
        "secrets",
        help="create development secrets in the data directory (those not configured)",
    )
    tokens.add_parser(commands)
    clerks.add_parser(commands)
    support.add_parsers(commands)
    consistency.add_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "stack":
        from ops.stack import run_stack

        run_stack(observability=args.observability)
    elif args.command == "demo":
        from ops.demo import run_demo

        asyncio.run(run_demo(until_identity=args.until == "identity"))
    elif args.command == "worker":
        import worker

        worker.main()
    elif args.command == "migrate":
        from settings import load_settings
        from store.db import migrate
        from store.embedded import database_url

        migrate(database_url(load_settings()))
        print("schema is up to date")
    elif args.command == "secrets":
        from ops.secrets import create_local_secrets
        from settings import load_settings

        settings = load_settings()
        created = create_local_secrets(settings)
        print(f"created in {settings.data_dir}: {', '.join(created)}" if created else "ready")
    elif args.command == "tokens":
        tokens.run(args)
    elif args.command == "clerks":
        clerks.run(args)
    elif args.command in ("stuck", "explain", "audit", "keys"):
        support.run(args)
    elif args.command == "check":
        exit_without_finalization(asyncio.run(consistency.run(args)))
    elif args.command == "codec-server":
        from codec.__main__ import main as codec_main

        codec_main([])
    elif args.command == "api":
        import uvicorn

        from api.limits import server_header_limit
        from service.logs import configure_logging
        from settings import load_settings

        settings = load_settings()
        configure_logging("api")
        uvicorn.run(
            "api.app:app",
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            h11_max_incomplete_event_size=server_header_limit(settings),
        )
    elif args.command == "search-attributes":
        from ops.stack import register_search_attributes
        from settings import load_settings

        asyncio.run(register_search_attributes(load_settings()))
        print("search attributes are registered")

    if args.command in HOLD_A_TEMPORAL_CLIENT:
        exit_without_finalization()


if __name__ == "__main__":
    main()
