"""The schedules of this process, for the pickled job function and the bot commands.

Jobs are pickled into the state database, and clients cannot be pickled: the job finds the live
`Schedules` here. No APScheduler import, so `/myctl schedule list` in a bot without schedules
does not load it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.scheduling.scheduler import Schedules

log = logging.getLogger(__name__)

_lock = threading.Lock()
_active: Schedules | None = None


def register(schedules: Schedules) -> None:
    global _active
    with _lock:
        _active = schedules


def unregister(schedules: Schedules) -> None:
    global _active
    with _lock:
        if _active is schedules:
            _active = None


def active() -> Schedules | None:
    with _lock:
        return _active


def run_scheduled(name: str) -> None:
    """The pickled job's body."""
    schedules = active()
    if schedules is None:
        log.error("schedule %s fired but no schedules are registered in this process", name)
        return
    schedules.run_scheduled(name)
