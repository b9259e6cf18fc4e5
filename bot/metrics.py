"""Prometheus metrics through `prometheus-client`, one `CollectorRegistry` per bot.

Each bot owns its registry (never the library's global one): tests and benchmarks build several
bots in one process, and each `/metrics` must show that bot's numbers only.

    myctl_bot_commands_total{command, exit_code}     Slack commands finished
    myctl_bot_ack_seconds                            receiving a command → acking it (histogram)
    myctl_bot_step_seconds{step}                     engine step durations (histogram)
    myctl_bot_approvals_total{outcome}               approval clicks and expiries, by outcome
    myctl_bot_slack_api_errors_total{method, error}  Slack Web API calls that failed
    myctl_bot_kube_api_errors_total{kind}            runs or probes stopped by a Kubernetes error
    myctl_bot_job_queue_depth                        jobs accepted and not finished (gauge)
    myctl_bot_job_rejections_total{reason}           jobs refused: `full` or `draining`
    myctl_bot_reports_posted_total{schedule}         scheduled or on-demand reports posted
    myctl_bot_runs_interrupted_total{reason}  runs marked interrupted
    myctl_bot_hook_*                                 registry hooks: bot/hooks/metrics.py, in a
                                                     registry of the bot's hook runs, appended
                                                     to /metrics by bot/transport/http.py

Label values are command, step and schedule names, fixed words and error codes: never a
request's free text, so the number of series stays bounded and no secret can appear.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import prometheus_client as prom
from prometheus_client import registry as prom_registry

from commands.values import events

# `_created` series double every counter's output and nobody graphs them; process-wide switch.
prom.disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds. Around the 3 s ack budget Slack enforces, with resolution where acks normally fall.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)
# Seconds. Engine steps range from a cached `select` (milliseconds) to a `restart --wait` of a
# slow rollout (the 10 m default wait timeout, docs/configuration.md).
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

# Counts (not sums, which are seconds) that are whole numbers.
_WHOLE = re.compile(r"^((?!\S*_sum\b)\S+?(?:\{.*\})?) (-?\d+)\.0$")


def exposition(registry: prom_registry.Collector | prom.CollectorRegistry) -> list[str]:
    """The text exposition lines; whole numbers without `.0`, as before the port (existing
    dashboards and tests compare exact lines; Prometheus parses either)."""
    text = prom.generate_latest(registry).decode("utf-8")
    return [_WHOLE.sub(r"\1 \2", line) for line in text.splitlines()]


class Metrics:
    def __init__(self, registry: prom.CollectorRegistry | None = None) -> None:
        self.registry = registry or prom.CollectorRegistry(auto_describe=True)
        r = self.registry

        def counter(name: str, doc: str, *labels: str) -> prom.Counter:
            return prom.Counter(name, doc, list(labels), registry=r)

        self._commands = counter(
            "myctl_bot_commands", "Slack commands finished, by exit code.", "command", "exit_code"
        )
        self._ack = prom.Histogram(
            "myctl_bot_ack_seconds",
            "Time from receiving a command to acking it.",
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self._steps = prom.Histogram(
            "myctl_bot_step_seconds",
            "Engine step durations, by step.",
            ["step"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self._approvals = counter(
            "myctl_bot_approvals", "Approval clicks and expiries, by outcome.", "outcome"
        )
        self._slack_errors = counter(
            "myctl_bot_slack_api_errors", "Slack Web API calls that failed.", "error", "method"
        )
        self._kube_errors = counter(
            "myctl_bot_kube_api_errors",
            "Runs or readiness probes stopped by a Kubernetes API error, by kind.",
            "kind",
        )
        depth = prom.Gauge(
            "myctl_bot_job_queue_depth", "Jobs accepted and not yet finished.", registry=r
        )
        depth.set_function(lambda: float(self.queue_depth()))
        self._rejections = counter(
            "myctl_bot_job_rejections",
            "Jobs the runner refused (busy answer), by reason.",
            "reason",
        )
        self._reports = counter(
            "myctl_bot_reports_posted", "Reports posted to Slack, by schedule.", "schedule"
        )
        self._interrupted = counter(
            "myctl_bot_runs_interrupted",
            "Runs marked interrupted, by reason (shutdown, restart, stale).",
            "reason",
        )
        # Set by the app to the job runner's gauge.
        self.queue_depth: Callable[[], int] = lambda: 0

    def command_finished(self, command: str, exit_code: int) -> None:
        self._commands.labels(command, str(exit_code)).inc()

    def slack_error(self, method: str, error: str) -> None:
        self._slack_errors.labels(error, method).inc()

    def kube_error(self, kind: str) -> None:
        self._kube_errors.labels(kind).inc()

    def ack_observed(self, seconds: float) -> None:
        self._ack.observe(seconds)

    def approval(self, outcome: str) -> None:
        self._approvals.labels(outcome).inc()

    def job_rejected(self, reason: str) -> None:
        self._rejections.labels(reason).inc()

    def report_posted(self, schedule: str) -> None:
        self._reports.labels(schedule).inc()

    def runs_interrupted(self, reason: str, count: int) -> None:
        if count:
            self._interrupted.labels(reason).inc(count)

    def step_seconds(self, step: str, seconds: float) -> None:
        self._steps.labels(step).observe(seconds)

    def step_timer(self, monotonic: Callable[[], float]) -> events.Reporter:
        """A reporter that observes each step's duration (StepStarted → StepFinished)."""
        started: dict[str, float] = {}
        lock = threading.Lock()

        def observe(event: events.Event) -> None:
            if isinstance(event, events.StepStarted):
                with lock:
                    started[event.step] = monotonic()
            elif isinstance(event, events.StepFinished):
                with lock:
                    begun = started.pop(event.step, None)
                if begun is not None:
                    self.step_seconds(event.step, monotonic() - begun)

        return observe

    def commands_total(self, command: str, exit_code: int) -> int:
        return self._sample("myctl_bot_commands_total", command=command, exit_code=str(exit_code))

    def _sample(self, name: str, **labels: str) -> int:
        return int(self.registry.get_sample_value(name, labels) or 0)

    def render(self) -> str:
        return "\n".join(exposition(self.registry)) + "\n"
