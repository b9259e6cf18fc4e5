"""`rebuild`: scan the workloads in scope and write the image cache.

Two phases so that front doors can ask before writing: `plan` scans and lays the document out
(read-only), `apply` writes with optimistic concurrency (`cachestore.write`). `--dry-run` stops
after `plan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from commands.engine import cachedoc, cachestore, check, shards
from commands.engine.context import Engine
from commands.values import clock, events, results, workloads

STEP = "rebuild"


@dataclass(frozen=True)
class Plan:
    document: cachedoc.Document
    layout: shards.Layout
    diff: results.CacheDiff
    previous: check.Inspection

    @property
    def stats(self) -> results.CacheStats:
        return results.CacheStats(
            built_at=self.document.built_at,
            age_seconds=0.0,
            images=len(self.document.images),
            workloads=self.document.workload_count,
            size_bytes=self.layout.size_bytes,
            compressed=self.layout.compressed,
            shards=len(self.layout.shards),
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
    chosen = cachestore.layout(engine, document)
    added, removed, changed = _diff(previous.document, document)
    return Plan(
        document, chosen, results.CacheDiff(tuple(added), tuple(removed), tuple(changed)), previous
    )


def apply(engine: Engine, chosen: Plan) -> results.RebuildResult:
    scope = engine.settings.scope.describe()
    if engine.dry_run:
        result = results.RebuildResult(False, True, chosen.stats, chosen.diff, scope)
        engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
        return result
    previous = chosen.previous
    cachestore.write(
        engine,
        chosen.layout,
        previous.resource_version,
        previous.sharding,
        previous_known=previous.parsed,
    )
    result = results.RebuildResult(True, False, chosen.stats, chosen.diff, scope)
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


def run(engine: Engine) -> results.RebuildResult:
    """Plan and write without asking: for callers that already have consent (orchestrate)."""
    return apply(engine, plan(engine))


def _diff(
    old: cachedoc.Document | None, new: cachedoc.Document
) -> tuple[list[str], list[str], list[str]]:
    """Images added, removed, and with a changed set of workloads, each sorted."""
    before = old.images if old else {}
    added = sorted(set(new.images) - set(before))
    removed = sorted(set(before) - set(new.images))
    changed = sorted(
        image
        for image in set(new.images) & set(before)
        if set(new.images[image]) != set(before[image])
    )
    return added, removed, changed
