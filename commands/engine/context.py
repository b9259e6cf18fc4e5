"""What every step needs: the cluster, the settings, a clock, a reporter, and the dry-run flag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from commands.kube import port
from commands.values import clock, events, restarts, settings

# Asked after a good canary (--canary) with the canary's outcomes: True goes on with the rest,
# False leaves the rest `not started`. Slack's Continue / Stop buttons answer it (expiry: False).
CanaryGate = Callable[[tuple[restarts.TargetOutcome, ...]], bool]


def always_continue(_canary: tuple[restarts.TargetOutcome, ...]) -> bool:
    """The terminal's answer: a good canary is reason enough to go on."""
    return True


@dataclass(frozen=True)
class Engine:
    cluster: port.Cluster
    settings: settings.Settings = field(default_factory=settings.Settings)
    clock: clock.Clock = field(default_factory=clock.SystemClock)
    report: events.Reporter = events.discard
    # --dry-run: nothing is persisted anywhere; API calls that would write use dryRun=All.
    dry_run: bool = False
    page_size: int = port.DEFAULT_PAGE_SIZE
    continue_after_canary: CanaryGate = always_continue
