"""`select IMAGE…`: the workloads that run an image, read from the cache (never a live scan)."""

from __future__ import annotations

from collections.abc import Sequence

from commands.engine import cachedoc, check
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
    if document is None:
        inspection = check.inspect(engine)
        if inspection.document is None:
            if inspection.result.unknown:
                raise errors.CacheInvalid(
                    f"cannot read the image cache: {inspection.result.reason}"
                )
            raise errors.CacheInvalid(
                f"cannot select: {inspection.result.reason}; run `myctl rebuild` "
                "(or `myctl orchestrate`, which rebuilds when needed)"
            )
        if not inspection.result.valid:
            # Stale but well formed: still a useful index, since restart re-reads live anyway.
            warnings.append(f"using a stale cache: {inspection.result.reason}")
        document = inspection.document
    found = match(document, wanted, mode)
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


def match(
    document: cachedoc.Document, wanted: Sequence[images.ImageRef], mode: images.MatchMode
) -> tuple[results.Match, ...]:
    found: list[results.Match] = []
    for ref in wanted:
        if mode is images.MatchMode.EXACT:
            # Keys are normalized references, so an exact match is one dictionary lookup.
            keys = [str(ref)] if str(ref) in document.images else []
        else:
            keys = [
                key
                for key in document.images
                if (parsed := images.try_parse(key)) and parsed.matches(ref, mode)
            ]
        for key in keys:
            found.extend(
                results.Match(key, entry.ref, entry.containers) for entry in document.images[key]
            )
    return tuple(sorted(found, key=lambda m: (m.workload, m.image)))
