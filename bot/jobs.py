"""The app's own bounded job runner: runs commands off bolt's listener threads.

Why not bolt's listener executor: its threads must stay free to ack new requests within 3 s,
and a 30-minute `restart --wait` would hold one. Why bounded: an unbounded queue turns a burst
into runs that start long after anyone is watching; a full runner answers "busy" at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="myctl-job")
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Lock()
        self._accepted = 0

    def try_submit(self, job: Callable[[], None]) -> Future[None] | None:
        """Run `job` on a worker, or return None at once when the runner is full."""
        if not self._slots.acquire(blocking=False):
            return None
        with self._lock:
            self._accepted += 1
        try:
            return self._executor.submit(self._run, job)
        except RuntimeError:  # shut down
            self._release()
            return None

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            # A job reports its own errors to Slack; this only keeps the slot accounting right.
            log.exception("job failed")
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._accepted -= 1
        self._slots.release()

    @property
    def depth(self) -> int:
        """Jobs accepted and not finished (running or waiting)."""
        with self._lock:
            return self._accepted

    def shutdown(self, wait: bool = False) -> None:
        # Without waiting, queued jobs are dropped: nobody would see their outcome anyway.
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
