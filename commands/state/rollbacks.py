"""What a recorded run restarted, read back from its audit record, for `myctl rollback`.

A run's `details` are its result's JSON (`RestartResult.to_json()`, or `OrchestrateResult`'s
with the restart under "restart"): per target its kind, namespace, name, outcome, the containers
that ran the image and `digests_before`. Nothing is stored twice: rollback reads exactly what the
run reported. Plain values only; no SQLAlchemy here (queries go through `StateStore`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from commands.state import records

# Commands whose runs restart workloads (a rollback is one too: it can be rolled back).
RESTARTING_COMMANDS = frozenset({"restart", "orchestrate", "rollback"})
# Outcomes after which the workload's pods were replaced: what a rollback puts back.
RESTARTED_OUTCOMES = frozenset({"restarted", "unchanged"})
# How far back `latest_restarting_run` looks, in runs: far more than any rollback is about.
SCAN_LIMIT = 2000


class RunHistory(Protocol):
    """The part of `StateStore` this module needs."""

    def get_run(self, run_id: str) -> records.RunRecord | None: ...

    def latest_runs(self, limit: int) -> list[records.RunRecord]: ...


@dataclass(frozen=True)
class RecordedTarget:
    kind: str  # "Deployment", as the JSON has it
    namespace: str
    name: str
    outcome: str
    containers: tuple[str, ...]  # () in records written before container names were kept
    digests_before: tuple[str, ...]


def recorded_targets(run: records.RunRecord) -> list[RecordedTarget]:
    """Every target the run reported, in its order; [] when it recorded none."""
    details: Mapping[str, Any] = run.details or {}
    restart = details.get("restart") if "targets" not in details else details
    if not isinstance(restart, Mapping):
        return []
    found: list[RecordedTarget] = []
    for item in restart.get("targets") or []:
        if not isinstance(item, Mapping):
            continue
        found.append(
            RecordedTarget(
                kind=str(item.get("kind", "")),
                namespace=str(item.get("namespace", "")),
                name=str(item.get("name", "")),
                outcome=str(item.get("outcome", "")),
                containers=tuple(str(c) for c in item.get("containers") or ()),
                digests_before=tuple(str(d) for d in item.get("digests_before") or ()),
            )
        )
    return found


def restarted_targets(run: records.RunRecord) -> list[RecordedTarget]:
    """The targets whose pods the run replaced (restarted, or restarted and unchanged)."""
    return [t for t in recorded_targets(run) if t.outcome in RESTARTED_OUTCOMES]


def restarted_something(run: records.RunRecord) -> bool:
    return (
        run.command in RESTARTING_COMMANDS
        and run.state == "finished"
        and not run.dry_run
        and bool(restarted_targets(run))
    )


def latest_restarting_run(store: RunHistory) -> records.RunRecord | None:
    """The latest finished run, not a dry run, that restarted at least one target."""
    return next((run for run in store.latest_runs(SCAN_LIMIT) if restarted_something(run)), None)
