"""At most N runs per trigger per hour, over a sliding hour (docs/triggers.md, `rate_limit`).

Thread-safe, clock injected (`commands.values.clock`), state in memory: each replica limits
the runs it starts itself. That bounds a push loop per replica, which is the point; a limit
shared exactly across replicas would need the state store on every delivery.
"""

from __future__ import annotations

import collections
import threading

from commands.values import clock as clocks

WINDOW_SECONDS = 3600.0  # "runs per hour"


class RateLimiter:
    def __init__(self, clock: clocks.Clock, *, window_seconds: float = WINDOW_SECONDS) -> None:
        self._clock = clock
        self._window = window_seconds
        self._lock = threading.Lock()
        self._starts: dict[str, collections.deque[float]] = {}

    def try_acquire(self, key: str, limit: int) -> bool:
        """Count one run for `key` if fewer than `limit` ran in the last window; else False."""
        now = self._clock.monotonic()
        with self._lock:
            starts = self._trimmed(key, now)
            if len(starts) >= limit:
                return False
            starts.append(now)
            return True

    def retry_after(self, key: str, limit: int) -> float:
        """Seconds until `key` may run again (0 when it may now)."""
        now = self._clock.monotonic()
        with self._lock:
            starts = self._trimmed(key, now)
            if len(starts) < limit:
                return 0.0
            return max(starts[len(starts) - limit] + self._window - now, 0.0)

    def _trimmed(self, key: str, now: float) -> collections.deque[float]:
        starts = self._starts.setdefault(key, collections.deque())
        while starts and starts[0] <= now - self._window:
            starts.popleft()
        return starts
