"""Runs that will never finish are marked interrupted, and their Slack messages say so.

Three ways a run is left behind (docs/operations.md):

* at start — runs this replica left "running" died with its previous process (`mark`);
* at a graceful stop — runs still going when the grace period ends (`mark`, from `Bot.close`);
* a replica crashed and never came back — every live replica heartbeats its own runs and sweeps
  for runs whose owner stopped heartbeating (`Watch`, commands/state/heartbeats.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from bot import periodic
from bot.rendering import outcomes
from bot.runs import delivery
from commands.state import heartbeats, records
from commands.state import store as store_mod
from commands.values import clock as clock_mod

log = logging.getLogger(__name__)


def mark(slack: delivery.Slack, store: store_mod.StateStore, owner: str) -> int:
    """Mark `owner`'s unfinished runs and their messages; returns how many were marked."""
    interrupted = store.mark_interrupted(owner)
    _say_so(slack, interrupted)
    if interrupted:
        log.info("marked %d unfinished runs as interrupted", len(interrupted))
    return len(interrupted)


def _say_so(slack: delivery.Slack, runs: Sequence[records.RunRecord]) -> None:
    for run in runs:
        rendered = outcomes.interrupted(run.argv, run.user)
        slack.update_quietly(run.message_channel or run.channel, run.message_ts, rendered)


class Watch(periodic.Periodic):
    """Every `interval` seconds: heartbeat this replica's runs, then mark the runs of owners
    silent for `stale_after` seconds. `stale_after` should be several intervals, so a replica
    that is merely slow (a long GC, a database failover) is not declared dead."""

    def __init__(
        self,
        slack: delivery.Slack,
        store: store_mod.StateStore,
        clock: clock_mod.Clock,
        *,
        owner: str,
        interval: float,
        stale_after: float,
        counted: Callable[[int], None] = lambda _n: None,
    ) -> None:
        super().__init__("myctl-heartbeat", interval, self.tick)
        self._slack = slack
        self._store = store
        self._clock = clock
        self._owner = owner
        self._stale_after = stale_after
        self._counted = counted

    def tick(self) -> int:
        """One heartbeat and one sweep; returns how many stale runs this replica marked."""
        now = self._clock.now()
        try:
            heartbeats.beat(self._store, self._owner, now)
            before = now - dt.timedelta(seconds=self._stale_after)
            stale = heartbeats.mark_stale(self._store, before=before, now=now)
        except Exception as exc:
            # A database hiccup: the next tick tries again (and beats before it sweeps).
            log.warning("run heartbeat failed: %s", type(exc).__name__)
            return 0
        _say_so(self._slack, stale)
        if stale:
            owners = sorted({run.owner for run in stale})
            log.warning("marked %d stale runs of %s as interrupted", len(stale), owners)
            self._counted(len(stale))
        return len(stale)
