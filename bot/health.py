"""`GET /readyz`: ready only when Slack (auth.test) and the Kubernetes API answer."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from slack_sdk import WebClient

from commands.kube import port
from commands.values import clock as clock_mod

log = logging.getLogger(__name__)

# Seconds a probe result is reused: probes arrive every few seconds per replica, and each one
# would otherwise cost a Slack call and an API server request.
CACHE_SECONDS = 5.0


class _Cluster(Protocol):
    def get(self) -> port.Cluster: ...


class Readiness:
    def __init__(
        self,
        client: WebClient,
        cluster: _Cluster,
        clock: clock_mod.Clock,
        ttl: float = CACHE_SECONDS,
    ) -> None:
        self._client = client
        self._cluster = cluster
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._last: tuple[float, bool, str] | None = None

    def check(self) -> tuple[bool, str]:
        """(ready, reason); the reason names what failed, never a credential."""
        with self._lock:
            now = self._clock.monotonic()
            if self._last is not None and now - self._last[0] < self._ttl:
                return self._last[1], self._last[2]
            ready, reason = self._probe()
            self._last = (now, ready, reason)
            return ready, reason

    def _probe(self) -> tuple[bool, str]:
        try:
            self._client.auth_test()
        except Exception as exc:
            log.warning("readiness: Slack auth.test failed: %s", type(exc).__name__)
            return False, "slack: auth.test failed"
        try:
            version = self._cluster.get().server_version()
        except Exception as exc:
            log.warning("readiness: Kubernetes API failed: %s", type(exc).__name__)
            return False, "kubernetes: API server does not answer"
        return True, f"ok: slack, kubernetes {version}"
