"""Following one rollout to completion with a watch (not polling), by kubectl's rules.

One watch at a time per workload: the API server pushes each status change, so completion is
noticed as soon as the controller reports it, and the number of requests does not grow with the
changes (a watch the server ends, after at most a minute — docs/verification.md — is renewed
from a fresh read). An expired, broken or silent watch is resumed from a fresh read: at once the
first time (410 Gone after a compaction is routine), then with a growing pause, so a server that
answers every watch with 410 or cuts every one is not hammered until the deadline.
"""

from __future__ import annotations

from commands.engine import rollout
from commands.engine.context import Engine
from commands.values import errors, workloads

# Pause before the n-th consecutive resumption: 0 s, then 0.5 s doubling up to 5 s, which is
# still well under the few seconds a rollout's status takes to change.
RESUME_FIRST_PAUSE = 0.5
RESUME_MAX_PAUSE = 5.0


def until_done(engine: Engine, workload: workloads.Workload, deadline: float) -> rollout.Status:
    """The rollout's final status: complete, failed, or timed out at `deadline` (monotonic)."""
    current = workload
    failed = 0  # consecutive watches that expired or broke
    while True:
        status = rollout.status(current)
        if status.state is not rollout.State.IN_PROGRESS:
            return status
        remaining = deadline - engine.clock.monotonic()
        if remaining <= 0:
            return rollout.Status(rollout.State.FAILED, f"timed out: {status.message}")
        try:
            current = _next_settled(engine, current, remaining, deadline)
            failed = 0
        except errors.WatchExpired:
            if failed:
                pause = min(RESUME_FIRST_PAUSE * 2 ** (failed - 1), RESUME_MAX_PAUSE)
                engine.clock.sleep(min(pause, max(deadline - engine.clock.monotonic(), 0.0)))
            failed += 1
            current = engine.cluster.read_workload(workload.ref)


def _next_settled(
    engine: Engine, start: workloads.Workload, remaining: float, deadline: float
) -> workloads.Workload:
    """Watch from `start` until the rollout settles or the deadline; the last state seen."""
    for seen in engine.cluster.watch_workload(start.ref, start.resource_version, remaining):
        if rollout.status(seen).state is not rollout.State.IN_PROGRESS:
            return seen
        if engine.clock.monotonic() >= deadline:
            return seen
    # The server ended the watch (its timeout): read afresh so the caller looks again.
    return engine.cluster.read_workload(start.ref)
