"""`--canary N`: which targets go first, and whether the rest may follow (docs/rollouts.md).

Pure decisions over inspected plans and the canary's outcomes; `restart` runs the waves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.engine import inspect
from commands.values import events, results, workloads

Outcome = events.Outcome


def order_key(target: workloads.WorkloadRef) -> tuple[str, str, str]:
    """The documented canary order: namespace, then kind, then name."""
    return (target.namespace, target.kind.value, target.name)


@dataclass(frozen=True)
class Waves:
    canary: tuple[inspect.Plan, ...]
    rest: tuple[inspect.Plan, ...] = ()


def split(to_patch: Sequence[inspect.Plan], canary: int | None) -> Waves:
    """The first `canary` targets to patch (up to date and skipped targets were decided during
    inspection, so they never take a canary slot) and the rest; no canary: one wave."""
    if not canary:
        return Waves(tuple(to_patch))
    ordered = sorted(to_patch, key=lambda plan: order_key(plan.target))
    return Waves(tuple(ordered[:canary]), tuple(ordered[canary:]))


def passed(plan: inspect.Plan, outcome: results.TargetOutcome, *, dry_run: bool) -> bool:
    """A canary passes when its new pods are verified to run the new image (`updated`) or it
    was up to date; a named restart (no image) passes once its rollout completed, on the same
    digest or not. In a dry run nothing rolled out, so an accepted patch is all there is."""
    if dry_run:
        return outcome.outcome is Outcome.WOULD_RESTART
    if outcome.outcome is Outcome.UP_TO_DATE:
        return True
    if outcome.outcome is not Outcome.RESTARTED:
        return False
    if outcome.verified is results.Verified.UPDATED:
        return True
    return not plan.image_rollout and outcome.verified is results.Verified.UNCHANGED


def stop_reason(
    canary: Sequence[inspect.Plan],
    done: dict[workloads.WorkloadRef, results.TargetOutcome],
    *,
    dry_run: bool,
) -> str:
    """Why the rest must not start (the first canary that did not pass), or "" to go on."""
    for plan in canary:
        outcome = done[plan.target]
        if not passed(plan, outcome, dry_run=dry_run):
            verdict = outcome.outcome.value
            if outcome.outcome is Outcome.RESTARTED:
                verdict = f"restarted but {outcome.verified.value}"
            return f"the canary {outcome.target.slug} was {verdict}"
    return ""


def not_started(plan: inspect.Plan, why: str) -> results.TargetOutcome:
    return plan.outcome(Outcome.NOT_STARTED, why)
