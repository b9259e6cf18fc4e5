"""What every step needs: the cluster, the settings, a clock, a reporter, and the dry-run flag."""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.kube import port
from commands.values import clock, events, settings


@dataclass(frozen=True)
class Engine:
    cluster: port.Cluster
    settings: settings.Settings = field(default_factory=settings.Settings)
    clock: clock.Clock = field(default_factory=clock.SystemClock)
    report: events.Reporter = events.discard
    # --dry-run: nothing is persisted anywhere; API calls that would write use dryRun=All.
    dry_run: bool = False
    page_size: int = port.DEFAULT_PAGE_SIZE
