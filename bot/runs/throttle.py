"""Coalesce frequent updates into at most one send per interval (chat.update, per message).

Why coalesce rather than drop: the latest state is what matters, so `offer` only remembers it and
a timer sends it when the interval has passed. Sends never overlap, and after `close` nothing
more is sent, so the caller's final update is always the last one Slack sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from commands.values import clock as clock_mod

T = TypeVar("T")

# Slack allows about one chat.update per second per message before it rate-limits (tier
# "special"); docs/architecture.md keeps the same bound.
DEFAULT_INTERVAL = 1.0


class Cancel(Protocol):
    def cancel(self) -> None: ...


# Calls `callback` once, `delay` seconds from now, unless cancelled.
Schedule = Callable[[float, Callable[[], None]], Cancel]


def thread_timer(delay: float, callback: Callable[[], None]) -> Cancel:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer


class Throttle(Generic[T]):
    def __init__(
        self,
        send: Callable[[T], None],
        *,
        clock: clock_mod.Clock,
        interval: float = DEFAULT_INTERVAL,
        schedule: Schedule = thread_timer,
    ) -> None:
        self._send = send
        self._clock = clock
        self._interval = interval
        self._schedule = schedule
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one send at a time, in order
        self._pending: T | None = None
        self._has_pending = False
        self._timer: Cancel | None = None
        self._last_sent: float | None = None
        self._closed = False

    def mark_sent(self) -> None:
        """Something else just sent (the first post): the interval starts now."""
        with self._lock:
            self._last_sent = self._clock.monotonic()

    def offer(self, state: T) -> None:
        send_now = False
        with self._lock:
            if self._closed:
                return
            self._pending, self._has_pending = state, True
            if self._timer is not None:
                return  # a send is already scheduled; it will pick up this state
            wait = self._wait_locked()
            if wait <= 0:
                send_now = True
            else:
                self._timer = self._schedule(wait, self._on_timer)
        if send_now:
            self._flush()

    def _wait_locked(self) -> float:
        if self._last_sent is None:
            return 0.0
        return self._last_sent + self._interval - self._clock.monotonic()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        self._flush()

    def _flush(self) -> None:
        with self._send_lock:
            with self._lock:
                if self._closed or not self._has_pending:
                    return
                wait = self._wait_locked()
                if wait > 0:
                    # Woken early (a send happened meanwhile): keep the bound, try again later.
                    if self._timer is None:
                        self._timer = self._schedule(wait, self._on_timer)
                    return
                state = self._pending
                self._pending, self._has_pending = None, False
                self._last_sent = self._clock.monotonic()
            assert state is not None
            self._send(state)

    def close(self) -> None:
        """Stop sending; waits for a send in flight so the caller's next send comes last."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            self._pending, self._has_pending = None, False
        if timer is not None:
            timer.cancel()
        with self._send_lock:
            pass
