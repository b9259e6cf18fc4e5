"""Prometheus metrics, hand-written in the text exposition format (no client library needed).

Four series: commands by command and exit code, ack latency, job queue depth, Slack API errors.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence

# Seconds. Around the 3 s ack budget Slack enforces, with resolution where acks normally fall.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items())) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._commands: Counter[tuple[str, int]] = Counter()
        self._slack_errors: Counter[tuple[str, str]] = Counter()
        self._ack_buckets = [0] * len(ACK_BUCKETS)
        self._ack_count = 0
        self._ack_sum = 0.0
        # Set by the app to the job runner's gauge.
        self.queue_depth: Callable[[], int] = lambda: 0

    def command_finished(self, command: str, exit_code: int) -> None:
        with self._lock:
            self._commands[(command, exit_code)] += 1

    def slack_error(self, method: str, error: str) -> None:
        with self._lock:
            self._slack_errors[(method, error)] += 1

    def ack_observed(self, seconds: float) -> None:
        with self._lock:
            self._ack_count += 1
            self._ack_sum += seconds
            for index, bound in enumerate(ACK_BUCKETS):
                if seconds <= bound:
                    self._ack_buckets[index] += 1

    def commands_total(self, command: str, exit_code: int) -> int:
        with self._lock:
            return self._commands[(command, exit_code)]

    def render(self) -> str:
        with self._lock:
            commands = [
                (_labels(command=command, exit_code=str(code)), n)
                for (command, code), n in sorted(self._commands.items())
            ]
            buckets = [
                (_labels(le=str(bound)), n)
                for bound, n in zip(ACK_BUCKETS, self._ack_buckets, strict=True)
            ]
            buckets.append((_labels(le="+Inf"), self._ack_count))
            ack_sum, ack_count = self._ack_sum, self._ack_count
            errors = [
                (_labels(method=method, error=error), n)
                for (method, error), n in sorted(self._slack_errors.items())
            ]
        lines = [
            *_family("myctl_bot_commands_total", "counter",
                     "Slack commands finished, by exit code.", commands),
            *_family("myctl_bot_ack_seconds", "histogram",
                     "Time from receiving a command to acking it.", []),
            *(f"myctl_bot_ack_seconds_bucket{labels} {n}" for labels, n in buckets),
            f"myctl_bot_ack_seconds_sum {ack_sum}",
            f"myctl_bot_ack_seconds_count {ack_count}",
            *_family("myctl_bot_slack_api_errors_total", "counter",
                     "Slack Web API calls that failed.", errors),
            *_family("myctl_bot_job_queue_depth", "gauge",
                     "Jobs accepted and not yet finished.", [("", self.queue_depth())]),
        ]  # fmt: skip
        return "\n".join(lines) + "\n"


def _family(name: str, kind: str, meaning: str, samples: Sequence[tuple[str, float]]) -> list[str]:
    """One metric family: its HELP and TYPE lines, then one line per labelled sample."""
    return [
        f"# HELP {name} {meaning}",
        f"# TYPE {name} {kind}",
        *(f"{name}{labels} {value}" for labels, value in samples),
    ]
