"""The run driver: starts the coalescer's runs when their burst is over (bot/hooks/coalesce.py).

One daemon thread waits on an event: `wake()` (called after a delivery was accepted) or the
time the next pending burst is due, whichever comes first; then it takes the due runs and hands
each to `launch`, which puts it on the job runner (bot/jobs.py) and returns False when that is
full. A run the runner could not take waits here and is offered again every `retry_seconds`
(the coalescer already counts it as running, so pushes meanwhile queue its follow-up). Whoever
runs a run calls `Coalescer.finished(run)` when it ends, then `wake()`, so that a follow-up
queued behind it starts.

No scheduler library and no timers: one loop, one stop event, waits bounded by the next due
time. The coalescer's clock must be the system's monotonic one (the loop waits real seconds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.hooks import coalesce

log = logging.getLogger(__name__)

# Seconds between offers of a run the job runner had no room for: short against the push →
# restart target (docs/benchmarks.md), long enough not to spin while the runner stays full.
RETRY_SECONDS = 0.5

Launch = Callable[[coalesce.Run], bool]


class Driver:
    def __init__(
        self,
        coalescer: coalesce.Coalescer,
        launch: Launch,
        *,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._coalescer = coalescer
        self._launch = launch
        self._retry = retry_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._waiting: list[coalesce.Run] = []  # due, not yet taken by the job runner
        self._thread: threading.Thread | None = None

    def start(self) -> Driver:
        self._thread = threading.Thread(target=self._loop, name="myctl-hook-driver", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look again now: a push was submitted, or a run finished."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def waiting(self) -> int:
        """Runs that are due but the job runner has not taken yet."""
        return len(self._waiting)

    def step(self) -> float | None:
        """Launch what is due; the seconds until there may be more (None: only on wake)."""
        self._waiting.extend(self._coalescer.take_due())
        still: list[coalesce.Run] = []
        for run in self._waiting:
            try:
                taken = self._launch(run)
            except Exception:
                # A run that cannot even be handed over is dropped, not retried forever.
                log.exception("could not start the run for %s", run.reference)
                self._coalescer.finished(run)
                continue
            if not taken:
                still.append(run)
        self._waiting = still
        due = self._coalescer.next_due_in()
        if still:
            return self._retry if due is None else min(due, self._retry)
        return due

    def _loop(self) -> None:
        while not self._stopping.is_set():
            # Cleared before looking: a wake() during step() makes the wait return at once.
            self._wake.clear()
            try:
                wait = self.step()
            except Exception:
                log.exception("hook run driver step failed")
                wait = self._retry
            self._wake.wait(timeout=wait)
