"""The bot's settings, read once from the environment at the edge (names: docs/configuration.md)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from commands.values import errors

if TYPE_CHECKING:
    from bot.scheduling import scheduler

DEFAULT_API_URL = "https://slack.com/api/"
# Slack's default, fixed so manifests and docs can assume it.
DEFAULT_PORT = 3000
# Jobs that run at once. Four: a run is mostly waiting on the API server, and a rolling restart
# already fans out on its own pool (restart.concurrency), so more runs would only compete.
DEFAULT_JOB_WORKERS = 4
# Jobs that may wait for a worker. Beyond this, answering "busy" at once beats a queue that
# would make people wait minutes without feedback.
DEFAULT_JOB_QUEUE = 16
# Seconds between sweeps that expire approval requests. Thirty: an expired request's message
# says so within half a minute, and a late click is refused at once anyway (checked on click).
DEFAULT_APPROVAL_SWEEP_SECONDS = 30.0
# Seconds running jobs get to finish after SIGTERM before they are marked interrupted. 25: below
# the pod's terminationGracePeriodSeconds (40 in deploy/), leaving time to mark and release.
DEFAULT_GRACE_SECONDS = 25.0
# Seconds between heartbeats of this replica's runs (and sweeps for other replicas' stale runs).
DEFAULT_HEARTBEAT_SECONDS = 10.0
# Seconds without a heartbeat after which a run's owner counts as dead: six missed beats, so a
# slow replica (a long GC pause, a database failover) is not declared dead.
DEFAULT_STALE_RUN_SECONDS = 60.0
LOG_FORMATS = ("text", "json")
# Where the engine runs for Slack, hooks and approvals: in worker processes (the default, so
# CPU-heavy steps never hold the GIL the listener acks with: docs/benchmarks.md §D), or in the
# bot's own process (`in-process`: one process, for debugging or a very small pod).
ENGINE_MODES = ("processes", "in-process")
# Who answers the public HTTP port: the front process (the default: acks never wait behind the
# bot's own Python, bot/transport/front.py), or this process (`in-process`: one process fewer).
FRONT_MODES = ("process", "in-process")
# Added to the engine processes' niceness: under load the listener's CPU comes first.
DEFAULT_ENGINE_NICE = 10
# Variables whose values are credentials: masked in every log line (bot/logs.py).
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


class MissingSetting(errors.ConfigError):
    """A required environment variable is unset. The message names it, never its value."""


@dataclass(frozen=True)
class BotConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None = None  # set = Socket Mode, unset = HTTP
    api_url: str = DEFAULT_API_URL
    port: int = DEFAULT_PORT
    kubeconfig: str | None = None
    kube_context: str | None = None
    myctl_config: str | None = None
    state_url: str | None = None
    job_workers: int = DEFAULT_JOB_WORKERS
    job_queue: int = DEFAULT_JOB_QUEUE
    # This replica's stable id (POD_NAME, else MYCTL_INSTANCE_ID, else the host name): its runs
    # carry it, so at start it marks only its own unfinished runs as interrupted.
    instance_id: str = ""
    approval_sweep_seconds: float = DEFAULT_APPROVAL_SWEEP_SECONDS
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    stale_run_seconds: float = DEFAULT_STALE_RUN_SECONDS
    engine: str = ENGINE_MODES[0]
    engine_nice: int = DEFAULT_ENGINE_NICE
    front: str = FRONT_MODES[0]

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def __repr__(self) -> str:
        # Secrets must never reach a log line, even through a debug repr of the config.
        return (
            f"BotConfig(api_url={self.api_url!r}, port={self.port}, "
            f"socket_mode={self.socket_mode}, kubeconfig={self.kubeconfig!r}, "
            f"myctl_config={self.myctl_config!r})"
        )

    __str__ = __repr__


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise MissingSetting(f"{name} is not set; the bot cannot start without it")
    return value


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0 or (value == 0 and name != "PORT"):
        raise errors.ConfigError(f"{name}: expected a positive integer, got {raw!r}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
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


def instance_id(environ: Mapping[str, str]) -> str:
    return (
        environ.get("POD_NAME") or environ.get("MYCTL_INSTANCE_ID") or socket.gethostname()
    ).strip()


def from_environ(environ: Mapping[str, str]) -> BotConfig:
    api_url = environ.get("SLACK_API_URL") or DEFAULT_API_URL
    if not api_url.endswith("/"):
        api_url += "/"  # slack_sdk appends method names to base_url as-is
    return BotConfig(
        bot_token=_required(environ, "SLACK_BOT_TOKEN"),
        signing_secret=_required(environ, "SLACK_SIGNING_SECRET"),
        app_token=environ.get("SLACK_APP_TOKEN") or None,
        api_url=api_url,
        port=_positive(environ, "PORT", DEFAULT_PORT),
        kubeconfig=environ.get("KUBECONFIG") or None,
        myctl_config=environ.get("MYCTL_CONFIG") or None,
        state_url=environ.get("MYCTL_STATE_URL") or None,
        job_workers=_positive(environ, "MYCTL_BOT_JOB_WORKERS", DEFAULT_JOB_WORKERS),
        job_queue=_positive(environ, "MYCTL_BOT_JOB_QUEUE", DEFAULT_JOB_QUEUE),
        instance_id=instance_id(environ),
        approval_sweep_seconds=_seconds(
            environ, "MYCTL_APPROVAL_SWEEP_SECONDS", DEFAULT_APPROVAL_SWEEP_SECONDS
        ),
        grace_seconds=_seconds(environ, "MYCTL_SHUTDOWN_GRACE_SECONDS", DEFAULT_GRACE_SECONDS),
        heartbeat_seconds=_seconds(environ, "MYCTL_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS),
        stale_run_seconds=_seconds(environ, "MYCTL_STALE_RUN_SECONDS", DEFAULT_STALE_RUN_SECONDS),
        engine=_choice(environ, "MYCTL_BOT_ENGINE", ENGINE_MODES),
        engine_nice=_nice(environ),
        front=_choice(environ, "MYCTL_BOT_FRONT", FRONT_MODES),
    )


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (environ.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise errors.ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _nice(environ: Mapping[str, str]) -> int:
    raw = (environ.get("MYCTL_BOT_ENGINE_NICE") or "").strip()
    if not raw:
        return DEFAULT_ENGINE_NICE
    if not raw.isdigit() or int(raw) > 19:
        raise errors.ConfigError(f"MYCTL_BOT_ENGINE_NICE: expected 0 to 19, got {raw!r}")
    return int(raw)


def log_format(environ: Mapping[str, str]) -> str:
    """MYCTL_LOG_FORMAT: `text` (default, for terminals) or `json` (one object per line)."""
    value = (environ.get("MYCTL_LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise errors.ConfigError(f"MYCTL_LOG_FORMAT: expected text or json, got {value!r}")
    return value


def schedule_options(environ: Mapping[str, str]) -> scheduler.Options:
    """Scheduler tuning from the environment: lease timing (MYCTL_LEASE_SECONDS,
    MYCTL_RENEW_DEADLINE_SECONDS, MYCTL_RETRY_SECONDS), MYCTL_MISFIRE_GRACE_SECONDS, and for
    development and tests MYCTL_SCHEDULE_EVERY_SECONDS (fire every N seconds, not the cron)."""
    from bot.scheduling import scheduler  # lazy: APScheduler is only needed when schedules exist
    from commands.kube import lease

    base = lease.LeaseTiming()
    timing = lease.LeaseTiming(
        lease_duration=_seconds(environ, "MYCTL_LEASE_SECONDS", base.lease_duration),
        renew_deadline=_seconds(environ, "MYCTL_RENEW_DEADLINE_SECONDS", base.renew_deadline),
        retry_period=_seconds(environ, "MYCTL_RETRY_SECONDS", base.retry_period),
    )
    every = _seconds(environ, "MYCTL_SCHEDULE_EVERY_SECONDS", 0.0) or None
    return scheduler.Options(
        misfire_grace_seconds=_seconds(
            environ, "MYCTL_MISFIRE_GRACE_SECONDS", scheduler.DEFAULT_MISFIRE_GRACE
        ),
        lease_timing=timing,
        every_seconds=every,
    )
