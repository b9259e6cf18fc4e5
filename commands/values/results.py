"""Typed results of each step. Every result knows its exit code and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from commands.values import errors, stepresult, workloads

# Restart results live in their own module; these names stay importable from here.
from commands.values.restarts import RestartResult as RestartResult
from commands.values.restarts import RollbackResult as RollbackResult
from commands.values.restarts import TargetOutcome as TargetOutcome
from commands.values.restarts import Verified as Verified


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
class CheckResult(stepresult.StepResult):
    valid: bool
    reason: str  # why it is not valid, or "" when valid
    stats: CacheStats = CacheStats()
    unknown: bool = False  # True when the cache could not be read at all (exit 2)

    command: ClassVar[str] = "check"

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

    def json_fields(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason, "cache": _stats_json(self.stats)}


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
class RebuildResult(stepresult.StepResult):
    written: bool
    dry_run: bool
    stats: CacheStats
    diff: CacheDiff
    scope: str

    command: ClassVar[str] = "rebuild"

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

    def json_fields(self) -> dict[str, Any]:
        return {
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
class SelectResult(stepresult.StepResult):
    images: tuple[str, ...]  # the normalized references asked for
    matches: tuple[Match, ...]
    warnings: tuple[str, ...] = ()

    command: ClassVar[str] = "select"

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

    def json_fields(self) -> dict[str, Any]:
        return {
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


@dataclass(frozen=True)
class OrchestrateResult(stepresult.StepResult):
    images: tuple[str, ...]
    check: CheckResult
    rebuild: RebuildResult | None = None
    select: SelectResult | None = None
    restart: RestartResult | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    command: ClassVar[str] = "orchestrate"

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

    def json_fields(self) -> dict[str, Any]:
        return {
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
