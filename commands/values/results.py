"""Typed results of each step. Every result knows its exit code and its JSON form."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from commands.values import errors, events, images, workloads


@dataclass(frozen=True)
class CacheStats:
    built_at: str | None = None
    age_seconds: float | None = None
    images: int = 0
    workloads: int = 0
    size_bytes: int = 0  # bytes stored in the ConfigMap(s) (after compression, if compressed)
    compressed: bool = False
    shards: int = 0  # shard ConfigMaps besides the index; 0 = one unsharded ConfigMap


@dataclass(frozen=True)
class CheckResult:
    valid: bool
    reason: str  # why it is not valid, or "" when valid
    stats: CacheStats = CacheStats()
    unknown: bool = False  # True when the cache could not be read at all (exit 2)

    @property
    def exit_code(self) -> int:
        if self.unknown:
            return errors.EXIT_USAGE
        return errors.EXIT_OK if self.valid else errors.EXIT_FAILED

    def summary(self) -> str:
        if self.valid:
            return (
                f"cache is valid: {self.stats.images} images, {self.stats.workloads} workloads, "
                f"built {self.stats.built_at}"
            )
        return f"cache needs rebuild: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "check",
            "exit_code": self.exit_code,
            "valid": self.valid,
            "reason": self.reason,
            "cache": _stats_json(self.stats),
        }


@dataclass(frozen=True)
class CacheDiff:
    added: tuple[str, ...] = ()  # images new in the cache
    removed: tuple[str, ...] = ()  # images no longer running anywhere in scope
    changed: tuple[str, ...] = ()  # images whose set of workloads changed

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        return (
            [f"+ {image}" for image in self.added]
            + [f"- {image}" for image in self.removed]
            + [f"~ {image}" for image in self.changed]
        )


@dataclass(frozen=True)
class RebuildResult:
    written: bool
    dry_run: bool
    stats: CacheStats
    diff: CacheDiff
    scope: str

    @property
    def exit_code(self) -> int:
        return errors.EXIT_OK

    def summary(self) -> str:
        verb = "would write" if self.dry_run else "wrote"
        change = (
            "no changes"
            if self.diff.empty
            else (
                f"{len(self.diff.added)} added, {len(self.diff.removed)} removed, "
                f"{len(self.diff.changed)} changed"
            )
        )
        prefix = "[dry-run] " if self.dry_run else ""
        return (
            f"{prefix}{verb} cache: {self.stats.images} images, {self.stats.workloads} workloads, "
            f"{self.stats.size_bytes} bytes{' (gzip)' if self.stats.compressed else ''}"
            f"{f' in {self.stats.shards} shards' if self.stats.shards else ''}; {change}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "rebuild",
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "written": self.written,
            "scope": self.scope,
            "cache": _stats_json(self.stats),
            "diff": {
                "added": list(self.diff.added),
                "removed": list(self.diff.removed),
                "changed": list(self.diff.changed),
            },
        }


@dataclass(frozen=True)
class Match:
    image: str  # the normalized reference found in the cache
    workload: workloads.WorkloadRef
    containers: tuple[str, ...]


@dataclass(frozen=True)
class SelectResult:
    images: tuple[str, ...]  # the normalized references asked for
    matches: tuple[Match, ...]
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return errors.EXIT_OK if self.matches else errors.EXIT_FAILED

    @property
    def targets(self) -> tuple[workloads.WorkloadRef, ...]:
        return tuple(sorted({match.workload for match in self.matches}))

    def summary(self) -> str:
        if not self.matches:
            return f"no workload runs {', '.join(self.images)}"
        return f"{len(self.targets)} workloads run {', '.join(self.images)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "select",
            "exit_code": self.exit_code,
            "images": list(self.images),
            "matches": [
                {
                    "image": match.image,
                    "kind": match.workload.kind.value,
                    "namespace": match.workload.namespace,
                    "name": match.workload.name,
                    "containers": list(match.containers),
                }
                for match in self.matches
            ],
            "warnings": list(self.warnings),
        }


class Verified(enum.Enum):
    """What the new pods of a restarted workload run, compared with before (design §1)."""

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

    def digest_change(self) -> str:
        """`sha256:1234567890ab… → sha256:ba0987654321…`, or "" when nothing was read."""
        if not self.digests_before and not self.digests_after:
            return ""
        before = ", ".join(map(images.short_digest, self.digests_before)) or "(none)"
        if self.verified is Verified.UP_TO_DATE or not self.digests_after:
            return before
        return f"{before} → {', '.join(map(images.short_digest, self.digests_after))}"


@dataclass(frozen=True)
class RestartResult:
    outcomes: tuple[TargetOutcome, ...]
    dry_run: bool = False
    warnings: tuple[str, ...] = ()
    waited: bool = False  # --wait: rollouts were followed and verified

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
        lines: list[str] = []
        stale = [o for o in self.outcomes if o.outcome is events.Outcome.STALE_PULL]
        if stale:
            names = ", ".join(
                f"{o.target.slug} ({'/'.join(o.pull_policies) or 'pinned'})" for o in stale
            )
            lines.append(
                f"Not rolled out: a restart cannot pull a new image for {len(stale)} "
                f"workload(s): {names}. Fix: name the pushed digest and pin it "
                "(--expect-digest sha256:… --pin-digest, or --image repo:tag@sha256:… "
                "--pin-digest); or set imagePullPolicy: Always in the workload; or pass "
                "--allow-stale-pull to restart anyway (nodes may keep the old image)."
            )
        unchanged = [o for o in self.outcomes if o.outcome is events.Outcome.UNCHANGED]
        if unchanged:
            lines.append(
                f"Still the old image: {len(unchanged)} workload(s) restarted but their new "
                "pods run the digest they ran before (a node reused its cached copy of the "
                "tag, or the tag was never re-pushed). Fix: --expect-digest sha256:… "
                "--pin-digest, or imagePullPolicy: Always."
            )
        return tuple(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "restart",
            "exit_code": self.exit_code,
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
                }
                for item in self.outcomes
            ],
            "advice": list(self.advice()),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class OrchestrateResult:
    images: tuple[str, ...]
    check: CheckResult
    rebuild: RebuildResult | None = None
    select: SelectResult | None = None
    restart: RestartResult | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        if self.check.unknown:
            return errors.EXIT_USAGE
        if self.restart is not None:
            return self.restart.exit_code
        return errors.EXIT_OK  # nothing runs the image: nothing to do is success

    def summary(self) -> str:
        if self.restart is not None:
            return self.restart.summary()
        if self.select is not None and not self.select.matches:
            return f"nothing to do: {self.select.summary()}"
        return self.check.summary()

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "orchestrate",
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "images": list(self.images),
            "check": self.check.to_json(),
            "rebuild": self.rebuild.to_json() if self.rebuild else None,
            "select": self.select.to_json() if self.select else None,
            "restart": self.restart.to_json() if self.restart else None,
        }


def _stats_json(stats: CacheStats) -> dict[str, Any]:
    return {
        "built_at": stats.built_at,
        "age_seconds": stats.age_seconds,
        "images": stats.images,
        "workloads": stats.workloads,
        "size_bytes": stats.size_bytes,
        "compressed": stats.compressed,
        "shards": stats.shards,
    }
