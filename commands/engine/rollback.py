"""`rollback`: every workload a recorded run restarted gets back the digest it ran before.

Planned from the run's audit record (commands/state/rollbacks.py reads it back): per target, its
containers are pinned to `repo:tag@sha256:BEFORE`, then `restart` does the rest (inspect, guard,
patch, wait, verify with BEFORE as the expected digest), so a rollback is judged exactly like a
rollout. Why pinning and not `kubectl rollout undo`: with a mutable tag the old pod template
names the same tag, so undo would not bring the old image back (docs/rollouts.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from commands.engine import restart
from commands.engine.context import Engine
from commands.state import records, rollbacks
from commands.values import errors, events, images, requests, results, workloads

STEP = "rollback"
Outcome = events.Outcome


@dataclass(frozen=True)
class Request:
    run: records.RunRecord  # the run to undo
    options: requests.RestartOptions = field(default_factory=requests.RestartOptions)


@dataclass(frozen=True)
class Plan:
    pins: tuple[requests.Pin, ...]
    skipped: tuple[results.TargetOutcome, ...]  # recorded targets that cannot be rolled back


def plan(run: records.RunRecord) -> Plan:
    """One pin per restarted target that ran exactly one digest before; the others skipped,
    each with the reason."""
    pins: list[requests.Pin] = []
    skipped: list[results.TargetOutcome] = []
    for recorded in rollbacks.restarted_targets(run):
        try:
            ref = workloads.WorkloadRef(
                workloads.parse_kind(recorded.kind), recorded.namespace, recorded.name
            )
        except errors.UsageError:
            continue  # not a kind we restart: the record was not written by us
        before = recorded.digests_before
        why = ""
        if not recorded.containers:
            why = "the run recorded no container names (recorded before rollback existed)"
        elif not before:
            why = "its digest before the run is unknown (no pod reported one)"
        elif len(before) > 1:
            shown = ", ".join(map(images.short_digest, before))
            why = f"it ran several digests before the run ({shown}): which one to pin is unclear"
        if why:
            skipped.append(results.TargetOutcome(ref, Outcome.SKIPPED, f"cannot roll back: {why}"))
        else:
            pins.append(requests.Pin(ref, recorded.containers, before[0]))
    return Plan(tuple(pins), tuple(skipped))


def run(engine: Engine, request: Request) -> results.RollbackResult:
    undoes = request.run.id
    chosen = plan(request.run)
    for skipped in chosen.skipped:
        engine.report(events.Note(STEP, f"{skipped.target}: {skipped.detail}", warning=True))
    if not chosen.pins and not chosen.skipped:
        why = f"run {undoes} restarted nothing: nothing to roll back"
        return results.RollbackResult((), engine.dry_run, (why,), undoes=undoes)
    options = dataclasses.replace(request.options, wait=True)  # a rollback is always verified
    done = (
        restart.run(engine, restart.Request((), options=options, pins=chosen.pins))
        if chosen.pins
        else results.RestartResult((), engine.dry_run, waited=True)
    )
    warnings = (*done.warnings, *(f"{o.target}: {o.detail}" for o in chosen.skipped))
    return results.RollbackResult(
        (*done.outcomes, *chosen.skipped),
        engine.dry_run,
        warnings,
        waited=True,
        undoes=undoes,
    )
