"""`check`: is the image cache present, well formed, in scope and fresh?"""

from __future__ import annotations

from dataclasses import dataclass

from commands.engine import cachedoc
from commands.engine.context import Engine
from commands.kube import port
from commands.values import clock, durations, errors, events, results

STEP = "check"


@dataclass(frozen=True)
class Inspection:
    """The verdict, plus the parsed document so later steps need not read it again."""

    result: results.CheckResult
    document: cachedoc.Document | None  # set when it parses and is in scope, even if stale
    resource_version: str | None  # of the stored ConfigMap, for the next optimistic write


def inspect(engine: Engine) -> Inspection:
    cache = engine.settings.cache
    engine.report(events.StepStarted(STEP, message=f"reading {cache.namespace}/{cache.name}"))
    inspection = _inspect(engine)
    engine.report(
        events.StepFinished(STEP, inspection.result.exit_code, inspection.result.summary())
    )
    return inspection


def run(engine: Engine) -> results.CheckResult:
    return inspect(engine).result


def _inspect(engine: Engine) -> Inspection:
    cache = engine.settings.cache
    try:
        stored = engine.cluster.read_cache(cache.namespace, cache.name)
    except errors.ClusterError as exc:
        # Permission, connection and server errors: we cannot tell, which is exit 2, not 1.
        return Inspection(results.CheckResult(False, str(exc), unknown=True), None, None)
    if stored is None:
        reason = f"no cache ConfigMap {cache.namespace}/{cache.name}"
        return Inspection(results.CheckResult(False, reason), None, None)
    try:
        document = cachedoc.decode(stored)
    except cachedoc.Corrupt as exc:
        return Inspection(results.CheckResult(False, str(exc)), None, stored.resource_version)
    stats = _stats(engine, stored, document)
    wanted = engine.settings.scope.as_document()
    if dict(document.scope) != wanted:
        reason = f"the cache was built for another scope ({document.scope}, configured {wanted})"
        return Inspection(results.CheckResult(False, reason, stats), None, stored.resource_version)
    if stats.age_seconds is None:
        reason = f"unreadable build time {document.built_at!r}"
        return Inspection(results.CheckResult(False, reason, stats), None, stored.resource_version)
    max_age = cache.max_age_seconds
    if stats.age_seconds > max_age:
        reason = (
            f"the cache is {durations.format_seconds(stats.age_seconds)} old "
            f"(max_age {durations.format_seconds(max_age)})"
        )
        result = results.CheckResult(False, reason, stats)
        return Inspection(result, document, stored.resource_version)
    return Inspection(results.CheckResult(True, "", stats), document, stored.resource_version)


def _stats(
    engine: Engine, stored: port.CacheObject, document: cachedoc.Document
) -> results.CacheStats:
    compressed = cachedoc.BINARY_KEY in stored.binary_data
    size = (
        len(stored.binary_data[cachedoc.BINARY_KEY])
        if compressed
        else len(stored.data.get(cachedoc.DATA_KEY, "").encode())
    )
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
        size_bytes=size,
        compressed=compressed,
    )
