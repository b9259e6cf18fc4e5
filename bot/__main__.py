"""`myctl-bot` / `python -m bot`: the only place where the bot's errors become exit codes.

Start order: read the configuration and validate every schedule (a bad one is exit 2 naming it,
before anything connects), build the app (state store, token check, interrupted runs), start
the schedules (Lease campaign), then the transport. Stopping releases the Lease.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http, socket_mode
from commands.values import config as values_config
from commands.values import errors, settings

if TYPE_CHECKING:
    from bot.scheduling import scheduler

log = logging.getLogger("bot")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same orderly shutdown as Ctrl-C


def _start_schedules(
    environ: Mapping[str, str],
    loaded: settings.Settings,
    bot: app_mod.Bot,
    config: config_mod.BotConfig,
    options: scheduler.Options,
) -> scheduler.Schedules:
    from bot.scheduling import leader, scheduler  # lazy: APScheduler only where schedules exist
    from commands.engine.context import Engine

    def engine_factory() -> Engine:
        return Engine(cluster=bot.services.cluster.get(), settings=loaded)

    schedules = scheduler.Schedules(
        loaded,
        bot.services.slack,
        engine_factory,
        state_url=config.state_url or loaded.state.url,
        store=bot.services.store,
        identity=environ.get("MYCTL_INSTANCE_ID") or None,
        options=options,
    )
    return leader.campaign(
        schedules, kubeconfig=config.kubeconfig, kube_context=config.kube_context
    )


def run(environ: Mapping[str, str]) -> int:
    try:
        config = config_mod.from_environ(environ)
        loaded = values_config.load(config.myctl_config)
        options = None
        if loaded.schedules:
            from bot.scheduling import triggers

            options = config_mod.schedule_options(environ)
            triggers.build_triggers(loaded.schedules, options.every_seconds)
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        bot = app_mod.build(config, loaded=loaded)
    except Exception as exc:
        # bolt's BoltError names the auth.test error (invalid_auth …), never the token itself;
        # a StateError shows the database URL without its password.
        print(f"myctl-bot: cannot start: {exc}", file=sys.stderr)
        return errors.EXIT_USAGE
    schedules: scheduler.Schedules | None = None
    health: http.HttpServer | None = None
    signal.signal(signal.SIGTERM, _stop)
    try:
        if options is not None:
            schedules = _start_schedules(environ, loaded, bot, config, options)
        if config.socket_mode:
            # Probes (deploy/base/deployment.yaml) and metrics need HTTP in Socket Mode too.
            health = http.HttpServer(bot, config.port, health_only=True).start()
            log.info("health endpoints on port %d", health.port)
            log.info("starting in Socket Mode via %s", config.api_url)
            socket_mode.handler(bot, config).start()  # type: ignore[no-untyped-call]
        else:
            server = http.HttpServer(bot, config.port)
            log.info("listening for HTTP on port %d", server.port)
            server.serve_forever()
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if schedules is not None:
            schedules.stop()
        if health is not None:
            health.stop()
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
