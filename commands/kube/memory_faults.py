"""Faults the in-memory cluster can be made to suffer (watches, lost answers), for engine tests.

A real watch ends in two ways the engine must survive: the API server answers 410 Gone (the
resourceVersion is older than its watch cache keeps) or the connection breaks mid-wait. The real
adapter turns both into `errors.WatchExpired` (commands/kube/client.py), so that is what an
armed watch raises here, after which the engine re-reads and watches again
(commands/engine/waiting.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from commands.values import errors


class WatchFaults:
    """The next N watches fail; `then` runs once, as the last of them fails (e.g. the fake
    controller finishing a rollout while nobody was watching)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = 0
        self._then: Callable[[], None] | None = None
        self.fired = 0

    def arm(self, times: int, then: Callable[[], None] | None = None) -> None:
        with self._lock:
            self._pending, self._then = times, then

    def check(self, subject: str) -> None:
        """Raise `WatchExpired` when armed; otherwise return."""
        with self._lock:
            if not self._pending:
                return
            self._pending -= 1
            self.fired += 1
            then = self._then if not self._pending else None
            if then is not None:
                self._then = None
        if then is not None:
            then()
        raise errors.WatchExpired(f"watch of {subject} expired (410 Gone, injected)")


class Countdown:
    """The next N calls of `take()` answer True (the fault fires), then False again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = 0

    def arm(self, times: int = 1) -> None:
        with self._lock:
            self._pending = times

    def take(self) -> bool:
        with self._lock:
            fired = self._pending > 0
            self._pending -= int(fired)
            return fired
