"""`select IMAGE…`: the workloads that run an image, read from the cache (never a live scan)."""

from __future__ import annotations

from collections.abc import Sequence

from commands.engine import cachedoc, check, shards
from commands.engine.context import Engine
from commands.values import errors, events, images, results

STEP = "select"


def run(
    engine: Engine,
    wanted: Sequence[images.ImageRef],
    mode: images.MatchMode = images.MatchMode.EXACT,
    document: cachedoc.Document | None = None,
) -> results.SelectResult:
    engine.report(events.StepStarted(STEP, message=", ".join(map(str, wanted))))
    warnings: list[str] = []
    if document is not None:
        found = match(document, wanted, mode)
    else:
        found = _from_cache(engine, wanted, mode, warnings)
    for ref in wanted:
        if ref.pinned_by_digest:
            warnings.append(
                f"{ref} is pinned by digest: restarting its workloads pulls the same image"
            )
    for message in warnings:
        engine.report(events.Note(STEP, message, warning=True))
    result = results.SelectResult(tuple(map(str, wanted)), found, tuple(warnings))
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


def _from_cache(
    engine: Engine,
    wanted: Sequence[images.ImageRef],
    mode: images.MatchMode,
    warnings: list[str],
) -> tuple[results.Match, ...]:
    """Read the index (and, when sharded, only the shards that can hold `wanted`), and match.

    A shard of another generation than its index means a rebuild moved on while we read:
    read once more from the index, then give up rather than mix two generations."""
    for attempt in (1, 2):
        inspection = check.inspect(engine, all_shards=False)
        if inspection.document is None:
            if inspection.result.unknown:
                raise errors.CacheInvalid(
                    f"cannot read the image cache: {inspection.result.reason}"
                )
            raise _needs_rebuild(inspection.result.reason)
        try:
            found = match(inspection.document, wanted, mode)
        except cachedoc.Corrupt as exc:
            if attempt == 1 and isinstance(exc, shards.ShardError):
                continue
            raise _needs_rebuild(str(exc)) from exc
        except errors.ClusterError as exc:
            raise errors.CacheInvalid(f"cannot read the image cache: {exc}") from exc
        if not inspection.result.valid:
            # Stale but well formed: still a useful index, since restart re-reads live anyway.
            warnings.append(f"using a stale cache: {inspection.result.reason}")
        return found
    raise AssertionError("unreachable")  # the second attempt returns or raises


def _needs_rebuild(reason: str) -> errors.CacheInvalid:
    return errors.CacheInvalid(
        f"cannot select: {reason}; run `myctl rebuild` "
        "(or `myctl orchestrate`, which rebuilds when needed)"
    )


def match(
    document: cachedoc.Document, wanted: Sequence[images.ImageRef], mode: images.MatchMode
) -> tuple[results.Match, ...]:
    """Raises `cachedoc.Corrupt` when a shard the lookup needs cannot be used."""
    found: list[results.Match] = []
    stored = document.images
    for ref in wanted:
        if mode is images.MatchMode.EXACT:
            # Keys are normalized references, so an exact match is one dictionary lookup.
            keys = [str(ref)] if str(ref) in stored else []
        else:
            # Every tag and digest of a repository is in the shard its repository hashes to.
            candidates = (
                stored.shard_holding(str(ref))
                if isinstance(stored, shards.ShardedImages)
                else stored
            )
            keys = [
                key
                for key in candidates
                if (parsed := images.try_parse(key)) and parsed.matches(ref, mode)
            ]
        for key in keys:
            found.extend(results.Match(key, entry.ref, entry.containers) for entry in stored[key])
    return tuple(sorted(found, key=lambda m: (m.workload, m.image)))
