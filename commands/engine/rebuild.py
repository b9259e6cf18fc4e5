"""`rebuild`: scan the workloads in scope and write the image cache.

Two phases so that front doors can ask before writing: `plan` scans and encodes (read-only),
`apply` writes with optimistic concurrency. `--dry-run` stops after `plan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from commands.engine import cachedoc, check
from commands.engine.context import Engine
from commands.values import clock, errors, events, results, workloads

STEP = "rebuild"
# A conflict means another writer (another replica, a concurrent CLI) replaced the cache in
# between; ours is at least as fresh, so re-read the version and write again, a few times.
MAX_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class Plan:
    document: cachedoc.Document
    encoded: cachedoc.Encoded
    diff: results.CacheDiff
    previous: check.Inspection

    @property
    def stats(self) -> results.CacheStats:
        return results.CacheStats(
            built_at=self.document.built_at,
            age_seconds=0.0,
            images=len(self.document.images),
            workloads=self.document.workload_count,
            size_bytes=self.encoded.size_bytes,
            compressed=self.encoded.compressed,
        )


def scan(engine: Engine) -> Iterator[workloads.Workload]:
    """Every workload in scope, page by page."""
    scope = engine.settings.scope
    namespaces: tuple[str | None, ...] = scope.namespaces or (None,)
    for kind in scope.kinds:
        for namespace in namespaces:
            for workload in engine.cluster.list_workloads(
                kind, namespace, scope.selector, engine.page_size
            ):
                if scope.includes_namespace(workload.ref.namespace):
                    yield workload


def plan(engine: Engine, previous: check.Inspection | None = None) -> Plan:
    scope = engine.settings.scope
    engine.report(events.StepStarted(STEP, message=f"scanning {scope.describe()}"))
    previous = previous or check.inspect(engine)
    document = cachedoc.build(scan(engine), scope, clock.rfc3339(engine.clock.now()))
    encoded = cachedoc.encode(document)
    added, removed, changed = cachedoc.diff(previous.document, document)
    return Plan(
        document, encoded, results.CacheDiff(tuple(added), tuple(removed), tuple(changed)), previous
    )


def apply(engine: Engine, chosen: Plan) -> results.RebuildResult:
    scope = engine.settings.scope.describe()
    if engine.dry_run:
        result = results.RebuildResult(False, True, chosen.stats, chosen.diff, scope)
        engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
        return result
    cache = engine.settings.cache
    version = chosen.previous.resource_version
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        try:
            engine.cluster.write_cache(
                cache.namespace,
                cache.name,
                data=chosen.encoded.data,
                binary_data=chosen.encoded.binary_data,
                resource_version=version,
            )
            break
        except errors.CacheConflict:
            current = engine.cluster.read_cache(cache.namespace, cache.name)
            version = current.resource_version if current else None
    else:
        raise errors.CacheConflict(
            f"the cache ConfigMap {cache.namespace}/{cache.name} kept changing during "
            f"{MAX_WRITE_ATTEMPTS} write attempts; nothing was written"
        )
    result = results.RebuildResult(True, False, chosen.stats, chosen.diff, scope)
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


def run(engine: Engine) -> results.RebuildResult:
    """Plan and write without asking: for callers that already have consent (orchestrate)."""
    return apply(engine, plan(engine))
