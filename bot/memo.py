"""Values trusted for a while: a Slack user group's members, the readiness probe's verdict.

Both are asked for far more often than they change (a burst of commands, probes every few
seconds per replica), and each answer costs a Slack or API server call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from commands.values import clock as clock_mod

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Each key's value is reused for `ttl` seconds of `clock`, then computed again.

    A computation that raises is not remembered: the next call tries again."""

    def __init__(self, clock: clock_mod.Clock, ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[K, tuple[float, V]] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        now = self._clock.monotonic()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value
