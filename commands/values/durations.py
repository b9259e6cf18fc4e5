"""Durations as written in configuration and flags: `90s`, `10m`, `1h30m`, `2d`, or seconds."""

from __future__ import annotations

import re

from commands.values import errors

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse(text: object, *, key: str) -> float:
    """Seconds in `text`; `key` names the setting in the error so the user knows what to fix."""
    if isinstance(text, bool):
        raise errors.ConfigError(f"{key}: expected a duration like 10m, got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        raw = text.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", raw):
            seconds = float(raw)
        else:
            pos, seconds = 0, 0.0
            for match in _PART.finditer(raw):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
                pos = match.end()
            if pos != len(raw) or not raw:
                raise errors.ConfigError(f"{key}: expected a duration like 10m, got {text!r}")
    else:
        raise errors.ConfigError(f"{key}: expected a duration like 10m, got {text!r}")
    if seconds <= 0:
        raise errors.ConfigError(f"{key}: must be positive, got {text!r}")
    return seconds


def format_seconds(seconds: float) -> str:
    """Short human form: 45s, 12m, 3h5m, 2d4h."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s" if secs and minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"
