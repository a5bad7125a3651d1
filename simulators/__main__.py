"""`python -m simulators --host 127.0.0.1 --port 8081`: serve the simulators in the foreground."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.app import create_app
from simulators.config import SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--log-level", default="info")
    for field in SimulatorConfig.model_fields:
        if field.endswith("_seconds"):
            parser.add_argument(f"--{field.replace('_', '-')}", type=float, dest=field)
    args = parser.parse_args(argv)
    timings = {
        field: value
        for field, value in vars(args).items()
        if field.endswith("_seconds") and value is not None
    }
    uvicorn.run(
        create_app(SimulatorConfig(**timings)),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=2,  # an injected `timeout` fault may be holding an answer
    )


if __name__ == "__main__":
    main()
