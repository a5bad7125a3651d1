"""Run the codec server: `python -m codec [--host H] [--port P]`.

Host and port default to `GOSREG_CODEC_HOST` and `GOSREG_CODEC_PORT` (127.0.0.1:8082).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from codec.server import create_codec_app
from codec.ui_proxy import access_line
from service.logs import configure_logging
from settings import load_settings


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    settings.check_secrets()
    parser = argparse.ArgumentParser(prog="python -m codec", description=__doc__)
    parser.add_argument("--host", default=settings.codec_host)
    parser.add_argument("--port", type=int, default=settings.codec_port)
    args = parser.parse_args(argv)
    # The server's one line per request (who decoded how much) is its audit trail: show it.
    configure_logging("codec")
    logging.getLogger("uvicorn.access").addFilter(access_line)
    uvicorn.run(create_codec_app(settings), host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
