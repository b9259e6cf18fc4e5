"""`check`: is the image cache present, well formed, in scope and fresh?"""

from __future__ import annotations

from dataclasses import dataclass

from commands.engine import cachedoc, cachestore, shards
from commands.engine.context import Engine
from commands.values import clock, durations, errors, events, results

STEP = "check"


@dataclass(frozen=True)
class Inspection:
    """The verdict, plus the parsed document so later steps need not read it again."""

    result: results.CheckResult
    document: cachedoc.Document | None  # set when it parses and is in scope, even if stale
    resource_version: str | None  # of the stored index ConfigMap, for the next optimistic write
    # The sharding of what is stored (None: unsharded or absent), and whether the index was
    # read and parsed at all: `rebuild` uses both to know which stale shards may exist.
    sharding: shards.Sharding | None = None
    parsed: bool = False


def inspect(engine: Engine, *, all_shards: bool = True) -> Inspection:
    """`all_shards=False` (select) checks the index only; shards are read when looked up."""
    cache = engine.settings.cache
    engine.report(events.StepStarted(STEP, message=f"reading {cache.namespace}/{cache.name}"))
    inspection = _inspect(engine, all_shards)
    engine.report(
        events.StepFinished(STEP, inspection.result.exit_code, inspection.result.summary())
    )
    return inspection


def run(engine: Engine) -> results.CheckResult:
    return inspect(engine).result


def _inspect(engine: Engine, all_shards: bool) -> Inspection:
    cache = engine.settings.cache
    try:
        try:
            stored = cachestore.read(engine, all_shards=all_shards)
        except shards.ShardError:
            # The index moved on while we read its shards (a rebuild finished): once more.
            stored = cachestore.read(engine, all_shards=all_shards)
    except errors.ClusterError as exc:
        # Permission, connection and server errors: we cannot tell, which is exit 2, not 1.
        return Inspection(results.CheckResult(False, str(exc), unknown=True), None, None)
    except cachedoc.Corrupt as exc:
        try:
            index = engine.cluster.read_cache(cache.namespace, cache.name)
        except errors.ClusterError:
            index = None
        version = index.resource_version if index else None
        return Inspection(results.CheckResult(False, str(exc)), None, version)
    if stored is None:
        reason = f"no cache ConfigMap {cache.namespace}/{cache.name}"
        return Inspection(results.CheckResult(False, reason), None, None)
    version, sharding = stored.index.resource_version, stored.sharding
    document = stored.document
    stats = _stats(engine, stored)
    wanted = engine.settings.scope.as_document()
    if dict(document.scope) != wanted:
        reason = f"the cache was built for another scope ({document.scope}, configured {wanted})"
        return Inspection(results.CheckResult(False, reason, stats), None, version, sharding, True)
    if stats.age_seconds is None:
        reason = f"unreadable build time {document.built_at!r}"
        return Inspection(results.CheckResult(False, reason, stats), None, version, sharding, True)
    max_age = cache.max_age_seconds
    if stats.age_seconds > max_age:
        reason = (
            f"the cache is {durations.format_seconds(stats.age_seconds)} old "
            f"(max_age {durations.format_seconds(max_age)})"
        )
        result = results.CheckResult(False, reason, stats)
        return Inspection(result, document, version, sharding, True)
    return Inspection(results.CheckResult(True, "", stats), document, version, sharding, True)


def _stats(engine: Engine, stored: cachestore.Stored) -> results.CacheStats:
    document = stored.document
    try:
        age: float | None = (
            engine.clock.now() - clock.parse_rfc3339(document.built_at)
        ).total_seconds()
    except ValueError:
        age = None
    return results.CacheStats(
        built_at=document.built_at,
        age_seconds=age,
        images=len(document.images),
        workloads=document.workload_count,
        size_bytes=stored.size_bytes,
        compressed=stored.compressed,
        shards=stored.sharding.count if stored.sharding else 0,
    )
