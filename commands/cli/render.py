"""Terminal rendering: result text for people, progress on stderr (lines, a bar, or JSON lines)."""

from __future__ import annotations

import json
import threading
from typing import TextIO

from commands.invoke import dispatch
from commands.values import events, results


def text_lines(result: dispatch.Result) -> list[str]:
    """The lines printed on stdout for `--output text`."""
    if isinstance(result, results.RebuildResult):
        return [result.summary(), *("  " + line for line in result.diff.lines())]
    if isinstance(result, results.SelectResult):
        lines = [
            f"{m.workload.kind.lower}/{m.workload.namespace}/{m.workload.name}"
            f"\t{m.image}\t{','.join(m.containers)}"
            for m in result.matches
        ]
        return lines or [result.summary()]
    if isinstance(result, results.RestartResult):
        return _restart_lines(result)
    if isinstance(result, results.OrchestrateResult):
        lines = [f"check: {result.check.summary()}"]
        if result.rebuild:
            lines.append(f"rebuild: {result.rebuild.summary()}")
        if result.select:
            lines.append(f"select: {result.select.summary()}")
            lines.extend(f"warning: {warning}" for warning in result.select.warnings)
        if result.restart:
            lines.extend(_restart_lines(result.restart))
        else:
            lines.append(result.summary())
        return lines
    return [result.summary()]


def _restart_lines(result: results.RestartResult) -> list[str]:
    """The advice first (why something was not rolled out, and the fix), then each target."""
    lines = [f"warning: {advice}" for advice in result.advice()]
    for item in result.outcomes:
        change = item.digest_change()
        digests = f" [{change}]" if change else ""
        if item.outcome is events.Outcome.WOULD_RESTART:
            lines.append(f"{item.detail}{digests}")
        else:
            label = _LABELS[item.outcome]
            lines.append(f"{label} {item.target}: {item.detail}{digests}")
    lines.append(result.summary())
    return lines


_LABELS = {
    events.Outcome.RESTARTED: "Restarted",
    events.Outcome.WOULD_RESTART: "Would restart",
    events.Outcome.UP_TO_DATE: "Up to date",
    events.Outcome.SKIPPED: "Skipped",
    events.Outcome.STALE_PULL: "Not restarted",
    events.Outcome.UNCHANGED: "Unchanged",
    events.Outcome.FAILED: "Failed",
    events.Outcome.NOT_STARTED: "Not started",
}


class LineProgress:
    """One line per step event on stderr (`--progress text`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.StepStarted):
            line = f"[{event.step}] started {event.message}".rstrip()
        elif isinstance(event, events.ItemDone):
            line = f"[{event.step}] {event.outcome.value} {event.item}"
        elif isinstance(event, events.Note):
            line = f"[{event.step}] {'warning: ' if event.warning else ''}{event.message}"
        else:
            line = f"[{event.step}] {event.summary}"
        with self._lock:
            print(line, file=self._stream, flush=True)


class BarProgress:
    """A progress bar for steps with a known size, redrawn in place (a terminal on stderr)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0

    def __call__(self, event: events.Event) -> None:
        with self._lock:
            if isinstance(event, events.StepStarted):
                self._total, self._done = event.total or 0, 0
                self._write(f"{event.step}: {event.message}".rstrip(": "))
            elif isinstance(event, events.ItemDone) and self._total:
                self._done += 1
                filled = self.WIDTH * self._done // self._total
                bar = "#" * filled + "-" * (self.WIDTH - filled)
                self._write(f"{event.step} [{bar}] {self._done}/{self._total}")
            elif isinstance(event, events.Note):  # warnings, and the waves of --canary
                prefix = "warning: " if event.warning else ""
                self._write(f"{prefix}{event.message}", newline=True)
            elif isinstance(event, events.StepFinished):
                self._write(f"{event.step}: {event.summary}", newline=True)

    def _write(self, text: str, newline: bool = False) -> None:
        self._stream.write("\r\x1b[2K" + text + ("\n" if newline else ""))
        self._stream.flush()


class JsonProgress:
    """JSON lines on stderr (`--progress json`), one per event, for scripts."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: events.Event) -> None:
        with self._lock:
            print(json.dumps(events.to_json(event)), file=self._stream, flush=True)
