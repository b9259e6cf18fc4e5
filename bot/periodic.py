"""Work done every few seconds on a daemon thread of its own, until the bot stops.

The approval sweep (bot/approvals/sweeper.py) and the run heartbeat (bot/runs/interrupted.py)
share this loop: the first call one interval after `start`, the next one interval after that
call returned. `work` catches its own errors (a failed call is simply tried again next time):
one that escapes would end the loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Self

# Seconds `stop` waits for a tick in progress: one short database call and a few Slack updates.
STOP_TIMEOUT_SECONDS = 5.0


class Periodic:
    """Calls `work` every `interval` seconds on a daemon thread named `name`; a base class, so
    that the sweeps are started and stopped as themselves."""

    def __init__(self, name: str, interval: float, work: Callable[[], object]) -> None:
        self._interval = interval
        self._work = work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No call starts after this; waits for one in progress (bounded)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._work()
