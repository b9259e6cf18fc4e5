"""`myctl-bot` / `python -m bot`: the only place where the bot's errors become exit codes.

Start order: read the configuration and validate every schedule (a bad one is exit 2 naming it,
before anything connects), build the app (state store, token check, interrupted runs), start
the schedules (Lease campaign), then the transport.

Stopping (SIGTERM or Ctrl-C; docs/operations.md): `/readyz` turns false and the job runner
drains — new commands get the busy answer, registry hooks a 503 with Retry-After — while the
transport keeps answering; running jobs get MYCTL_SHUTDOWN_GRACE_SECONDS to finish; what is
left is marked interrupted (its message says so); the Lease is released and the scheduler
stopped; then the transport closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from bot import app as app_mod
from bot import config as config_mod
from bot import logs
from bot.transport import frontdoor, http, socket_mode
from commands.values import config as values_config
from commands.values import errors, settings
from commands.values import triggers as trigger_values

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.scheduling import scheduler

log = logging.getLogger("bot")


# Seconds between checks of the stop flag by the main thread: how late a signal may be noticed.
STOP_POLL = 0.2
_stopping = threading.Event()


def _stop(_signum: int, _frame: FrameType | None) -> None:
    _stopping.set()  # the main thread drains; a handler must not do the work itself


def _wait_for_stop() -> None:
    try:
        while not _stopping.wait(STOP_POLL):
            pass
    except KeyboardInterrupt:  # Ctrl-C: the same orderly stop as SIGTERM
        pass


def _drain(bot: app_mod.Bot, grace: float) -> None:
    runner = bot.services.runner
    runner.drain()
    log.info("stopping: draining %d running jobs (grace %.0f s)", runner.depth, grace)
    if runner.wait_idle(grace):
        log.info("stopping: every job finished")
    else:
        log.warning("stopping: %d jobs still running after %.0f s", runner.depth, grace)


def _start_schedules(
    environ: Mapping[str, str],
    loaded: settings.Settings,
    bot: app_mod.Bot,
    config: config_mod.BotConfig,
    options: scheduler.Options,
) -> scheduler.Schedules:
    from bot.scheduling import leader, scheduler  # lazy: APScheduler only where schedules exist

    schedules = scheduler.Schedules(
        loaded,
        bot.services.slack,
        bot.services.engines.report_sections(loaded),
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
        # Before anything connects: a trigger without its secret is exit 2 naming both.
        trigger_values.secrets(loaded.triggers, environ)
        options = None
        if loaded.schedules:
            from bot.scheduling import triggers

            options = config_mod.schedule_options(environ)
            triggers.build_triggers(loaded.schedules, options.every_seconds)
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        bot = app_mod.build(config, loaded=loaded, hook_environ=environ)
    except Exception as exc:
        # bolt's BoltError names the auth.test error (invalid_auth …), never the token itself;
        # a StateError shows the database URL without its password.
        print(f"myctl-bot: cannot start: {exc}", file=sys.stderr)
        return errors.EXIT_USAGE
    schedules: scheduler.Schedules | None = None
    server: http.HttpServer | frontdoor.FrontDoor | None = None
    socket: SocketModeHandler | None = None
    _stopping.clear()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if options is not None:
            schedules = _start_schedules(environ, loaded, bot, config, options)
        if config.socket_mode:
            # Probes (deploy/base/deployment.yaml) and metrics need HTTP in Socket Mode too.
            server = http.HttpServer(bot, config.port, health_only=True).start()
            log.info("health endpoints on port %d", server.port)  # and registry hooks
            log.info("starting in Socket Mode via %s", config.api_url)
            socket = socket_mode.handler(bot, config)
            socket.connect()  # type: ignore[no-untyped-call]
        elif config.front == "process":
            server = frontdoor.FrontDoor(
                bot, config.port, config.signing_secret, log_format=config_mod.log_format(environ)
            ).start()
            log.info("listening for HTTP on port %d (front process %s)", server.port, server.pid)
        else:
            server = http.HttpServer(bot, config.port).start()
            log.info("listening for HTTP on port %d", server.port)
        _wait_for_stop()
        _drain(bot, config.grace_seconds)
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        # Marks what is left interrupted (bot.close) before the Lease goes, so the next leader
        # never sees a run of ours "running"; the transport closes last.
        bot.close()
        if schedules is not None:
            schedules.stop()
        if socket is not None:
            socket.close()  # type: ignore[no-untyped-call]
        if server is not None:
            server.stop()
        log.info("stopped")
    return errors.EXIT_OK


def _secrets(environ: Mapping[str, str]) -> list[str]:
    """The credentials' values, to mask in every log line: Slack's and each trigger's."""
    names = list(config_mod.SECRET_VARIABLES)
    with contextlib.suppress(errors.MyctlError):  # `run` reports it (exit 2)
        names += [t.secret_env for t in values_config.load(environ.get("MYCTL_CONFIG")).triggers]
    return [environ.get(name, "") for name in names]


def main() -> None:
    environ = os.environ
    try:
        log_format = config_mod.log_format(environ)
    except errors.MyctlError as exc:
        print(f"myctl-bot: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    logs.configure(log_format, environ.get("MYCTL_LOG_LEVEL", "INFO"), secrets=_secrets(environ))
    code = run(environ)
    # Jobs still running past the grace period are already marked interrupted; their worker
    # threads must not hold the process (concurrent.futures joins its threads at exit).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
