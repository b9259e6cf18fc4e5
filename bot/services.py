"""Everything a request needs, built once by the app (bot/app.py) and shared by every handler."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot import access, jobs, metrics
from bot.runs import delivery as delivery_mod
from bot.runs import engines as engines_mod
from bot.runs import run as run_mod
from commands.kube import port
from commands.state import store as store_mod
from commands.values import clock as clock_mod
from commands.values import config, settings


class ClusterConnection:
    """One cluster connection for the whole app, made on first use (and retried after a
    failure, so the bot starts even when the API server is briefly down)."""

    def __init__(self, connect: Callable[[], port.Cluster]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._cluster: port.Cluster | None = None

    def get(self) -> port.Cluster:
        with self._lock:
            if self._cluster is None:
                self._cluster = self._connect()
            return self._cluster


@dataclass
class Services:
    """Everything a request needs, built once by the app."""

    slack: delivery_mod.Slack  # the one WebClient, behind the error metric
    cluster: ClusterConnection
    runner: jobs.JobRunner
    resolver: access.GroupResolver
    metrics: metrics.Metrics
    store: store_mod.StateStore  # the audit trail and approvals
    pipeline: run_mod.Pipeline
    engines: engines_mod.Engines  # where runs' engines run (bot/runs/engines.py)
    environ: Mapping[str, str] = field(default_factory=dict)  # MYCTL_CONFIG for settings_for
    clock: clock_mod.Clock = field(default_factory=clock_mod.SystemClock)

    def base_settings(self) -> settings.Settings:
        """The configuration file alone (approvals, schedules), without a run's flags."""
        return config.load(self.environ.get("MYCTL_CONFIG"))

    def delivery(
        self, *, channel: str, user: str, response_url: str | None
    ) -> delivery_mod.Delivery:
        return self.slack.delivery(channel=channel, user=user, response_url=response_url)

    def run(self, job: run_mod.Job, talk: delivery_mod.Delivery) -> int:
        return run_mod.run(self.pipeline, job, talk)
