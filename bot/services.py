"""Everything a run needs, built once by the app (bot/app.py) and shared by every handler."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot import access, jobs, metrics
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
    """Everything a run needs, built once by the app."""

    client: WebClient
    cluster: ClusterConnection
    runner: jobs.JobRunner
    resolver: access.GroupResolver
    metrics: metrics.Metrics
    environ: Mapping[str, str] = field(default_factory=dict)  # MYCTL_CONFIG for settings_for
    clock: clock_mod.Clock = field(default_factory=clock_mod.SystemClock)
    progress_interval: float = 1.0
    # The audit trail and approvals; None only in tests of the parts that need neither.
    store: store_mod.StateStore | None = None
    owner: str = ""  # this replica's id, recorded on its runs (see StateStore.mark_interrupted)

    def base_settings(self) -> settings.Settings:
        """The configuration file alone (approvals, schedules), without a run's flags."""
        return load_settings(self.environ.get("MYCTL_CONFIG"))


def load_settings(path: str | None) -> settings.Settings:
    return config.load_file(path) if path else settings.Settings()
