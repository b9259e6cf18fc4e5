"""Logging for the bot process: `text` (default, for terminals) or `json` (MYCTL_LOG_FORMAT).

`json` writes one object per line: time (ISO-8601 UTC), level, logger, message, and, inside a
run, its run id, command, user, channel and — once known — outcome (the exit code). Those come
from a context variable the run pipeline binds (`bind_run`, bot/runs/run.py); each job runs in a
fresh context (bot/jobs.py), so nothing leaks from one run's lines into the next.

Never a secret, in either format: Slack tokens, bearer values and URL passwords are masked
(commands/state/auditlog.py), and so are the configured credentials themselves (the signing
secret has no recognisable shape).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from commands.state import auditlog

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The fields a run binds, in the order a JSON line shows them.
RUN_FIELDS = ("run_id", "command", "user", "channel", "outcome")

_run: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "myctl_run", default=None
)


def bind_run(**fields: Any) -> None:
    """Start a run's log context (replacing any earlier run's on this thread)."""
    _run.set({k: v for k, v in fields.items() if v is not None})


def bind_outcome(exit_code: int) -> None:
    current = _run.get()
    _run.set({**(current or {}), "outcome": exit_code})


def current() -> dict[str, Any]:
    return dict(_run.get() or {})


class _Redact(logging.Filter):
    """Masks secrets in the rendered message (and drops the args it was rendered from)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Short values would mask ordinary words; real credentials are long.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def _mask(self, text: str) -> str:
        text = auditlog.redact(text)
        for secret in self._secrets:
            text = text.replace(secret, auditlog.REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = self._mask(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_text:  # a traceback rendered elsewhere (an engine process)
            record.exc_text = self._mask(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        line: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = current()
        line.update((key, fields[key]) for key in RUN_FIELDS if key in fields)
        if record.exc_info:
            line["exception"] = auditlog.redact(self.formatException(record.exc_info))
        elif record.exc_text:  # rendered already: a record from an engine process
            line["exception"] = auditlog.redact(record.exc_text)
        return json.dumps(line, separators=(",", ":"), default=str)


def configure(
    log_format: str,
    level: str = "INFO",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Replace the root logger's handlers with one on `stream` (stderr) in `log_format`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_Redact(secrets))
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # library warnings become log lines in the same format
