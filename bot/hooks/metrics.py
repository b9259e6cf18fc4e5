"""The registry-hook metrics, named once here (rendered on `GET /metrics` with the others).

    myctl_bot_hook_deliveries_total{trigger, result}   every delivery, whatever its outcome
    myctl_bot_hook_runs_total{trigger, exit_code}      every run a trigger started, when it ends

Label values are trigger names (from the configuration) and fixed words: never anything taken
from a request, so a caller cannot grow the series without bound, and no secret can appear.
"""

from __future__ import annotations

import threading
from collections import Counter

DELIVERIES = "myctl_bot_hook_deliveries_total"
RUNS = "myctl_bot_hook_runs_total"
# Every value of `result`, in the order docs/triggers.md lists them. `busy` is a 503 (the job
# runner is full, or the state store is unavailable): the registry retries later.
RESULTS = ("accepted", "ignored", "duplicate", "unauthorized", "rate_limited", "invalid", "busy")


class HookMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: Counter[tuple[str, str]] = Counter()
        self._runs: Counter[tuple[str, int]] = Counter()

    def delivery(self, trigger: str, result: str) -> None:
        if result not in RESULTS:
            raise ValueError(f"unknown delivery result {result!r}")
        with self._lock:
            self._deliveries[(trigger, result)] += 1

    def run_finished(self, trigger: str, exit_code: int) -> None:
        with self._lock:
            self._runs[(trigger, exit_code)] += 1

    def deliveries_total(self, trigger: str, result: str) -> int:
        with self._lock:
            return self._deliveries[(trigger, result)]

    def runs_total(self, trigger: str, exit_code: int) -> int:
        with self._lock:
            return self._runs[(trigger, exit_code)]

    def render(self) -> list[str]:
        """Prometheus text exposition lines, to append to the bot's own."""
        with self._lock:
            lines = [
                f"# HELP {DELIVERIES} Registry webhook deliveries, by trigger and result.",
                f"# TYPE {DELIVERIES} counter",
            ]
            for (trigger, result), n in sorted(self._deliveries.items()):
                lines.append(f'{DELIVERIES}{{result="{result}",trigger="{_escape(trigger)}"}} {n}')
            lines += [
                f"# HELP {RUNS} Runs started by registry webhooks, by trigger and exit code.",
                f"# TYPE {RUNS} counter",
            ]
            for (trigger, code), n in sorted(self._runs.items()):
                lines.append(f'{RUNS}{{exit_code="{code}",trigger="{_escape(trigger)}"}} {n}')
            return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
