"""`python -m bot.schedules_main`: leader election and scheduled reports, without the Slack app.

Runs until SIGTERM or SIGINT, then stops leading and releases the Lease so another replica takes
over at once. The bot's own main calls `scheduling.start_schedules` instead; this entry exists
for the multi-process tests and for running reports as a separate Deployment.

Environment (design §5): SLACK_BOT_TOKEN, SLACK_API_URL, KUBECONFIG, MYCTL_CONFIG,
MYCTL_STATE_URL; and optionally MYCTL_INSTANCE_ID (lease identity), MYCTL_LEASE_SECONDS,
MYCTL_RENEW_DEADLINE_SECONDS, MYCTL_RETRY_SECONDS, MYCTL_MISFIRE_GRACE_SECONDS and
MYCTL_SCHEDULE_EVERY_SECONDS (development and tests: fire every N seconds instead of the cron).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from bot import scheduling
from commands.engine.context import Engine
from commands.kube import client, lease
from commands.values import config, errors, settings

DEFAULT_API_URL = "https://slack.com/api/"


def _seconds(environ: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise errors.ConfigError(f"{name}: expected a positive number of seconds, got {raw!r}")
    return value


def options_from(environ: Mapping[str, str]) -> scheduling.Options:
    base = lease.LeaseTiming()
    timing = lease.LeaseTiming(
        lease_duration=_seconds(environ, "MYCTL_LEASE_SECONDS", base.lease_duration) or 0,
        renew_deadline=_seconds(environ, "MYCTL_RENEW_DEADLINE_SECONDS", base.renew_deadline) or 0,
        retry_period=_seconds(environ, "MYCTL_RETRY_SECONDS", base.retry_period) or 0,
    )
    grace = _seconds(environ, "MYCTL_MISFIRE_GRACE_SECONDS", scheduling.DEFAULT_MISFIRE_GRACE)
    return scheduling.Options(
        misfire_grace_seconds=grace or scheduling.DEFAULT_MISFIRE_GRACE,
        lease_timing=timing,
        every_seconds=_seconds(environ, "MYCTL_SCHEDULE_EVERY_SECONDS", None),
    )


def start(environ: Mapping[str, str]) -> scheduling.Schedules:
    """Everything `main` starts, from the environment; raises MyctlError before starting
    anything when the configuration is invalid."""
    from slack_sdk import WebClient  # imported here: `--help`-style failures stay fast

    from commands.state import store as state_store

    path = environ.get("MYCTL_CONFIG") or None
    loaded = config.load_file(path) if path else settings.Settings()
    options = options_from(environ)
    # Validate every schedule before connecting anywhere: a bad cron is exit 2, not a hang.
    scheduling.build_triggers(loaded.schedules, options.every_seconds)
    token = environ.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        raise errors.ConfigError("SLACK_BOT_TOKEN is not set; reports cannot be posted")
    api_url = environ.get("SLACK_API_URL") or DEFAULT_API_URL
    web = WebClient(token=token, base_url=api_url if api_url.endswith("/") else api_url + "/")
    state_url = environ.get("MYCTL_STATE_URL") or loaded.state.url
    store = state_store.StateStore(state_url)
    cluster = client.connect(None, None, environ=environ)

    def engine_factory() -> Engine:
        return Engine(cluster=cluster, settings=loaded)

    return scheduling.start_schedules(
        loaded,
        web,
        engine_factory,
        state_url=state_url,
        store=store,
        identity=environ.get("MYCTL_INSTANCE_ID") or None,
        options=options,
    )


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        schedules = start(env)
    except errors.MyctlError as exc:
        print(f"myctl schedules: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"myctl schedules: started as {schedules.identity}", file=sys.stderr, flush=True)
    stop.wait()
    schedules.stop()
    return errors.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
