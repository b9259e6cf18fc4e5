"""The sweep that expires due approval requests, every `interval` seconds, in every replica.

Expiry is atomic in the database, so each request's message is updated by exactly one of them.
"""

from __future__ import annotations

import logging

from bot import periodic
from bot import services as services_mod
from bot.approvals import decision

log = logging.getLogger(__name__)


class Sweeper(periodic.Periodic):
    def __init__(self, services: services_mod.Services, interval: float) -> None:
        super().__init__("myctl-expiry", interval, self.sweep)
        self._services = services

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
