"""The app's own bounded job runner: runs commands off bolt's listener threads.

Why not bolt's listener executor: its threads must stay free to ack new requests within 3 s,
and a 30-minute `restart --wait` would hold one. Why bounded: an unbounded queue turns a burst
into runs that start long after anyone is watching; a full runner answers "busy" at once.

Acks first: a job waits to start while requests are being answered (`answering`, entered by the
HTTP transport around each request), up to `MAX_DEFER` seconds. A job's own bookkeeping (the
trail, Slack calls, rendering: ~15 ms of Python each) shares the GIL with the listener; in a
burst of hundreds of commands, starting jobs between acks instead of during them keeps the acks
near a bare app's (docs/benchmarks.md §D). The engine itself runs elsewhere (bot/runs/engines.py).

Draining (graceful stop, docs/operations.md): after `drain()` the runner takes nothing new —
commands and clicks get the busy answer, registry hooks a 503 with Retry-After (they check
`has_room()`) — while the jobs it already holds run on; `wait_idle` waits for them.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

# Seconds a job may wait for the requests being answered: sustained traffic delays jobs, never
# starves them.
MAX_DEFER = 2.0
# Seconds between looks at whether the requests have been answered.
DEFER_POLL = 0.005


class Answering:
    """How many requests are being answered now (a context manager per request)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Answering:
        with self._lock:
            self._count += 1
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._count -= 1

    def __bool__(self) -> bool:
        return self._count > 0


class JobRunner:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="myctl-job")
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Condition()
        self._accepted = 0
        self._draining = False
        self.answering = Answering()
        self.max_defer = MAX_DEFER
        # Told of every refusal with its reason (`full` or `draining`): the rejection metric.
        self.rejected: Callable[[str], None] = lambda _reason: None

    def try_submit(self, job: Callable[[], None]) -> Future[None] | None:
        """Run `job` on a worker, or return None at once when the runner is full or draining."""
        if self._draining:
            self.rejected("draining")
            return None
        if not self._slots.acquire(blocking=False):
            self.rejected("full")
            return None
        with self._lock:
            self._accepted += 1
        try:
            return self._executor.submit(self._run, job)
        except RuntimeError:  # shut down
            self._release()
            self.rejected("draining")
            return None

    def _run(self, job: Callable[[], None]) -> None:
        deadline = time.monotonic() + self.max_defer
        while self.answering and time.monotonic() < deadline:
            time.sleep(DEFER_POLL)
        try:
            # A fresh context per job: log fields a run binds (bot/logs.py) end with it.
            contextvars.Context().run(job)
        except Exception:
            # A job reports its own errors to Slack; this only keeps the slot accounting right.
            log.exception("job failed")
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._accepted -= 1
            self._lock.notify_all()
        self._slots.release()

    @property
    def depth(self) -> int:
        """Jobs accepted and not finished (running or waiting)."""
        with self._lock:
            return self._accepted

    @property
    def draining(self) -> bool:
        """True once the replica is stopping: nothing new is taken."""
        return self._draining

    def has_room(self) -> bool:
        """Whether a job submitted now would be taken (registry hooks answer 503 if not)."""
        return not self._draining and self.depth < self.capacity

    def drain(self) -> None:
        self._draining = True

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every accepted job to finish; True if they did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._accepted > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def shutdown(self, wait: bool = False) -> None:
        # Without waiting, queued jobs are dropped: nobody would see their outcome anyway.
        self._draining = True
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
