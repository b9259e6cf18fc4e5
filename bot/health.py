"""`GET /readyz`: ready only when Slack (auth.test) and the Kubernetes API answer, and the
replica is not stopping (a draining replica must leave the Service's endpoints at once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot import memo
from bot.runs import delivery
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
        slack: delivery.Slack,
        cluster: _Cluster,
        clock: clock_mod.Clock,
        ttl: float = CACHE_SECONDS,
        *,
        draining: Callable[[], bool] = lambda: False,
        kube_error: Callable[[str], None] = lambda _kind: None,
    ) -> None:
        self._draining = draining
        self._kube_error = kube_error  # the Kubernetes API error metric, by kind
        self._slack = slack
        self._cluster = cluster
        self._verdict: memo.Memo[str, tuple[bool, str]] = memo.Memo(clock, ttl)

    def check(self) -> tuple[bool, str]:
        """(ready, reason); the reason names what failed, never a credential."""
        if self._draining():  # not cached: the switch must show on the very next probe
            return False, "stopping: draining running jobs"
        return self._verdict.get("ready", self._probe)

    def _probe(self) -> tuple[bool, str]:
        try:
            self._slack.auth_test()
        except Exception as exc:
            log.warning("readiness: Slack auth.test failed: %s", type(exc).__name__)
            return False, "slack: auth.test failed"
        try:
            version = self._cluster.get().server_version()
        except Exception as exc:
            log.warning("readiness: Kubernetes API failed: %s", type(exc).__name__)
            self._kube_error(type(exc).__name__)
            return False, "kubernetes: API server does not answer"
        return True, f"ok: slack, kubernetes {version}"
