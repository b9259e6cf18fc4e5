"""The JSON audit log line written next to every audit row, with secrets redacted.

Logger `myctl.audit`, one line per audit write, so the trail also reaches the log pipeline
when the database is lost. Tokens never appear: Slack tokens, keys named like secrets, and
passwords inside URLs are masked before anything is serialized.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger("myctl.audit")

REDACTED = "[redacted]"
# Slack token prefixes (bot, user, app-level, config, refresh) and generic bearer values.
_TOKEN = re.compile(r"\b(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|Bearer\s+\S+)")
# Bounded repeats: unbounded ones made this quadratic on a long run of letters (a 200 kB button
# value held the GIL for minutes; tests/attacks/test_interactive_payloads.py). RFC 3986 puts
# no limit on a scheme, but none in use is longer than 32 characters.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]{0,31}://[^:/@\s]{1,256}:)[^@/\s]{1,256}@", re.IGNORECASE
)
_SECRET_KEY = re.compile(r"token|secret|password|passwd|authorization|api_key|apikey", re.I)


def redact(value: Any) -> Any:
    """A copy of `value` safe to log and store: JSON-shaped, secrets masked."""
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if _SECRET_KEY.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\g<scheme>" + REDACTED + "@", _TOKEN.sub(REDACTED, value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line as runs and approval requests store it: each word redacted."""
    return [str(part) for part in redact(list(argv))]


def emit(kind: str, at: dt.datetime, **fields: Any) -> None:
    """One JSON line: {"audit": kind, "at": ISO-8601 UTC, ...fields}."""
    record = {"audit": kind, "at": at.astimezone(dt.UTC).isoformat(), **redact(fields)}
    logger.info(json.dumps(record, sort_keys=True, separators=(",", ":")))
