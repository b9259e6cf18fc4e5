"""The run most store tests start: a Slack `restart deployment/api` by U1 in C1."""

from __future__ import annotations

import dataclasses
from typing import Any

from commands.state import records

RESTART = records.NewRun(
    command="restart",
    argv=("restart", "deployment/api"),
    user="U1",
    channel="C1",
    source="slack",
    dry_run=False,
)


def restart(**changes: Any) -> records.NewRun:
    """`RESTART` with `changes` (an owner, another channel, a permalink)."""
    return dataclasses.replace(RESTART, **changes)
