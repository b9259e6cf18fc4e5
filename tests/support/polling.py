"""Waiting for a condition in tests: poll with a deadline, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any], timeout: float = 60.0, what: str = "", interval: float = 0.2
) -> Any:
    """Poll `predicate` until truthy and return that value; fail with `what` after `timeout`
    seconds. `interval` is the polling period: short where a test measures a latency."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r}")
        time.sleep(interval)  # polling interval, not a wait for a condition
