"""The sweep that expires due approval requests, every `interval` seconds, in every replica.

Expiry is atomic in the database, so each request's message is updated by exactly one of them.
"""

from __future__ import annotations

import logging
import threading

from bot import services as services_mod
from bot.approvals import decision

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, services: services_mod.Services, interval: float) -> None:
        self._services = services
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="myctl-expiry", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sweep()

    def sweep(self) -> int:
        services = self._services
        try:
            expired = len(decision.expire(services.slack, services.store, services.clock.now()))
            for _ in range(expired):
                services.metrics.approval("expired")
            return expired
        except Exception as exc:
            # A database or Slack hiccup: the next sweep tries again.
            log.warning("approval expiry sweep failed: %s", type(exc).__name__)
            return 0

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
