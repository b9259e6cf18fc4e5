"""The registry-hook metrics, named once here (rendered on `GET /metrics` with the others).

    myctl_bot_hook_deliveries_total{trigger, result}   every delivery, whatever its outcome
    myctl_bot_hook_runs_total{trigger, exit_code}      every run a trigger started, when it ends

On `prometheus-client`, in a `CollectorRegistry` of their own per bot (`HookMetrics()`, built by
bot/hookruns.py), or in one passed in. Label values are trigger names (from the
configuration) and fixed words: never anything taken from a request, so a caller cannot grow
the series without bound, and no secret can appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import prometheus_client as prom
from prometheus_client import metrics_core

DELIVERIES = "myctl_bot_hook_deliveries_total"
RUNS = "myctl_bot_hook_runs_total"
# Every value of `result`, in the order docs/triggers.md lists them. `busy` is a 503 (the job
# runner is full or draining, or the state store is unavailable): the registry retries later.
_WHOLE = re.compile(r"^(\S+?(?:\{.*\})?) (-?\d+)\.0$")
RESULTS = ("accepted", "ignored", "duplicate", "unauthorized", "rate_limited", "invalid", "busy")


class _Only:
    """A collector of just these families, so `render` shows the hook lines alone."""

    def __init__(self, *families: prom.Counter) -> None:
        self._families = families

    def collect(self) -> Iterable[metrics_core.Metric]:
        for family in self._families:
            yield from family.collect()


class HookMetrics:
    def __init__(self, registry: prom.CollectorRegistry | None = None) -> None:
        self.registry = registry or prom.CollectorRegistry(auto_describe=True)
        self._deliveries = prom.Counter(
            DELIVERIES.removesuffix("_total"),
            "Registry webhook deliveries, by trigger and result.",
            ["result", "trigger"],
            registry=self.registry,
        )
        self._runs = prom.Counter(
            RUNS.removesuffix("_total"),
            "Runs started by registry webhooks, by trigger and exit code.",
            ["exit_code", "trigger"],
            registry=self.registry,
        )

    def delivery(self, trigger: str, result: str) -> None:
        if result not in RESULTS:
            raise ValueError(f"unknown delivery result {result!r}")
        self._deliveries.labels(result, trigger).inc()

    def run_finished(self, trigger: str, exit_code: int) -> None:
        self._runs.labels(str(exit_code), trigger).inc()

    def deliveries_total(self, trigger: str, result: str) -> int:
        value = self.registry.get_sample_value(DELIVERIES, {"result": result, "trigger": trigger})
        return int(value or 0)

    def runs_total(self, trigger: str, exit_code: int) -> int:
        labels = {"exit_code": str(exit_code), "trigger": trigger}
        return int(self.registry.get_sample_value(RUNS, labels) or 0)

    def render(self) -> list[str]:
        """Prometheus text exposition lines of the hook families alone."""
        text = prom.generate_latest(_Only(self._deliveries, self._runs)).decode("utf-8")
        # Whole counts without `.0`, as bot/metrics.py shows them (every line here is a count).
        return [_WHOLE.sub(r"\1 \2", line) for line in text.splitlines()]
