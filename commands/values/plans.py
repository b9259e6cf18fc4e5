"""What approvers need to decide about a command, gathered read-only (commands/engine/plans.py)."""

from __future__ import annotations

from dataclasses import dataclass

from commands.values import results


@dataclass(frozen=True)
class Plan:
    scope: str
    cache: str  # namespace/name
    check: results.CheckResult | None = None
    unknown: str = ""  # why the cache could not be inspected at all
    scanned: int | None = None  # workloads in scope (rebuild, orchestrate)
    scan_error: str = ""
