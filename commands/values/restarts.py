"""Results of `restart` (and of `rollback`, which is a restart to recorded digests): one
outcome per target, the exit code they add up to, the advice, and the JSON form that the audit
trail keeps (docs/rollouts.md: `myctl rollback` reads `targets[]` back). No I/O here."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from commands.values import errors, events, images, stepresult, workloads


class Verified(enum.Enum):
    """What the new pods of a restarted workload run, compared with before.

    The verdicts of docs/verification.md."""

    UPDATED = "updated"  # every new pod runs a new digest (or exactly the expected one)
    UNCHANGED = "unchanged"  # some new pod still runs an old digest: a failed target
    UP_TO_DATE = "up-to-date"  # already ran the expected digest: not restarted
    UNKNOWN = "unknown"  # not verified: no --wait, no pods (replicas 0), or no digest reported


@dataclass(frozen=True)
class TargetOutcome:
    target: workloads.WorkloadRef
    outcome: events.Outcome
    detail: str = ""
    rollout: str = ""  # with --wait: "complete", "timed out", "progress deadline exceeded"
    # The exit code of the error behind a failure: 2 when RBAC or configuration forbade it.
    error_code: int = errors.EXIT_FAILED
    digests_before: tuple[str, ...] = ()  # `sha256:…` the matching containers ran before
    digests_after: tuple[str, ...] = ()  # what the new pods run, once the rollout completed
    verified: Verified = Verified.UNKNOWN
    pull_policies: tuple[str, ...] = ()  # of the matching containers (for the advice)
    # The containers that run the image (all of them, for a named restart): which containers
    # `rollback` pins back to `digests_before`.
    containers: tuple[str, ...] = ()

    def digest_change(self) -> str:
        """`sha256:1234567890ab… → sha256:ba0987654321…`, or "" when nothing was read."""
        if not self.digests_before and not self.digests_after:
            return ""
        before = ", ".join(map(images.short_digest, self.digests_before)) or "(none)"
        if self.verified is Verified.UP_TO_DATE or not self.digests_after:
            return before
        return f"{before} → {', '.join(map(images.short_digest, self.digests_after))}"


@dataclass(frozen=True)
class RestartResult(stepresult.StepResult):
    outcomes: tuple[TargetOutcome, ...]
    dry_run: bool = False
    warnings: tuple[str, ...] = ()
    waited: bool = False  # --wait: rollouts were followed and verified

    command: ClassVar[str] = "restart"

    def count(self, outcome: events.Outcome) -> int:
        return sum(1 for item in self.outcomes if item.outcome is outcome)

    @property
    def succeeded(self) -> int:
        return sum(1 for item in self.outcomes if item.outcome in events.DONE)

    @property
    def exit_code(self) -> int:
        if not self.outcomes:
            return errors.EXIT_FAILED  # nothing matched: like `select`, the condition is not met
        not_done = [item for item in self.outcomes if item.outcome in events.NOT_DONE]
        if not not_done:
            return errors.EXIT_OK  # everything restarted, up to date, or gone: nothing left
        if self.succeeded:
            return errors.EXIT_PARTIAL
        # Nothing succeeded: if every failure was a permission or configuration refusal, the
        # fix is configuration (RBAC), which is exit 2, not a failed operation.
        if all(
            item.outcome is events.Outcome.FAILED and item.error_code == errors.EXIT_USAGE
            for item in not_done
        ):
            return errors.EXIT_USAGE
        return errors.EXIT_FAILED

    def summary(self) -> str:
        if not self.outcomes:
            return "; ".join(self.warnings) or "nothing to restart"
        prefix = "[dry-run] " if self.dry_run else ""
        if self.dry_run:
            parts = [f"would restart {self.succeeded}"]
        elif self.waited:
            parts = [f"rolled out {self.succeeded}"]
        else:
            parts = [f"restarted {self.succeeded}"]
        labels = (
            (events.Outcome.UNCHANGED, "unchanged"),
            (
                events.Outcome.STALE_PULL,
                "would not pull a new image"
                if self.dry_run
                else "not restarted (cannot pull a new image)",
            ),
            (events.Outcome.FAILED, "failed"),
            (events.Outcome.NOT_STARTED, "not started"),
            (events.Outcome.UP_TO_DATE, "already up to date"),
            (events.Outcome.SKIPPED, "skipped"),
        )
        parts += [f"{label} {n}" for outcome, label in labels if (n := self.count(outcome))]
        unverified = (
            " (not verified: no --wait)"
            if self.succeeded and not (self.dry_run or self.waited)
            else ""
        )
        return prefix + ", ".join(parts) + f" of {len(self.outcomes)} workloads{unverified}"

    def advice(self) -> tuple[str, ...]:
        """Why targets were not done and the ways out, first thing a reader should see."""
        advise = (
            (events.Outcome.STALE_PULL, _stale_pull_advice),
            (events.Outcome.UNCHANGED, _unchanged_advice),
            (events.Outcome.NOT_STARTED, _not_started_advice),
        )
        lines: list[str] = []
        for outcome, advice in advise:
            found = [o for o in self.outcomes if o.outcome is outcome]
            if found:
                lines.append(advice(found))
        return tuple(lines)

    def json_fields(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "verified": self.waited,
            "targets": [
                {
                    "kind": item.target.kind.value,
                    "namespace": item.target.namespace,
                    "name": item.target.name,
                    "outcome": item.outcome.value,
                    "detail": item.detail,
                    "rollout": item.rollout,
                    "digests_before": list(item.digests_before),
                    "digests_after": list(item.digests_after),
                    "verified": item.verified.value,
                    "containers": list(item.containers),
                }
                for item in self.outcomes
            ],
            "advice": list(self.advice()),
            "warnings": list(self.warnings),
        }


def _stale_pull_advice(stale: Sequence[TargetOutcome]) -> str:
    names = ", ".join(f"{o.target.slug} ({'/'.join(o.pull_policies) or 'pinned'})" for o in stale)
    return (
        f"Not rolled out: a restart cannot pull a new image for {len(stale)} "
        f"workload(s): {names}. Fix: name the pushed digest and pin it "
        "(--expect-digest sha256:… --pin-digest, or --image repo:tag@sha256:… "
        "--pin-digest); or set imagePullPolicy: Always in the workload; or pass "
        "--allow-stale-pull to restart anyway (nodes may keep the old image)."
    )


def _unchanged_advice(unchanged: Sequence[TargetOutcome]) -> str:
    return (
        f"Still the old image: {len(unchanged)} workload(s) restarted but their new "
        "pods run the digest they ran before (a node reused its cached copy of the "
        "tag, or the tag was never re-pushed). Fix: --expect-digest sha256:… "
        "--pin-digest, or imagePullPolicy: Always."
    )


def _not_started_advice(waiting: Sequence[TargetOutcome]) -> str:
    return (
        f"Not started: {len(waiting)} workload(s) were left untouched because "
        f"{waiting[0].detail}. Fix what the canary "
        "shows, then run again (targets already up to date are not restarted twice)."
    )


@dataclass(frozen=True)
class RollbackResult(RestartResult):
    """`myctl rollback`: a restart that pinned each target back to the digest it ran before
    run `undoes`. A RestartResult, so every renderer of restarts renders it unchanged."""

    undoes: str = ""  # the id of the run whose restarts this puts back

    command: ClassVar[str] = "rollback"

    def summary(self) -> str:
        return f"rollback of run {self.undoes}: {super().summary()}"

    def json_fields(self) -> dict[str, Any]:
        return {**super().json_fields(), "undoes": self.undoes}
