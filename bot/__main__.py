"""`myctl-bot` / `python -m bot`: the only place where the bot's errors become exit codes."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType

from bot import app as app_mod
from bot import config as config_mod
from bot import http_server, socket_mode
from commands.values import errors

log = logging.getLogger("bot")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same orderly shutdown as Ctrl-C


def run(environ: Mapping[str, str]) -> int:
    try:
        config = config_mod.from_environ(environ)
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        bot = app_mod.build(config)
    except Exception as exc:
        # bolt's BoltError names the auth.test error (invalid_auth …), never the token itself.
        print(f"myctl-bot: cannot start: {exc}", file=sys.stderr)
        return errors.EXIT_USAGE
    signal.signal(signal.SIGTERM, _stop)
    try:
        if config.socket_mode:
            log.info("starting in Socket Mode via %s", config.api_url)
            socket_mode.handler(bot, config).start()  # type: ignore[no-untyped-call]
        else:
            server = http_server.HttpServer(bot, config.port)
            log.info("listening for HTTP on port %d", server.port)
            server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        bot.close()
    return errors.EXIT_OK


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("MYCTL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sys.exit(run(os.environ))


if __name__ == "__main__":
    main()
