"""`orchestrate`: check → (rebuild if the cache is not valid) → select → restart.

The automated entry point (CI, registry webhooks, Slack): it rebuilds without asking, because a
rebuild only refreshes an index; the restart it leads to is still bounded by --max-targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.engine import check, rebuild, restart, select
from commands.engine.context import Engine
from commands.values import images, results


@dataclass(frozen=True)
class Request:
    image_refs: tuple[images.ImageRef, ...]
    match: images.MatchMode = images.MatchMode.EXACT
    wait: bool = False
    timeout_seconds: float | None = None
    concurrency: int | None = None
    max_targets: int | None = None
    allow_stale_pull: bool = False


def run(engine: Engine, request: Request) -> results.OrchestrateResult:
    names = tuple(map(str, request.image_refs))
    inspection = check.inspect(engine)
    if inspection.result.unknown:
        return results.OrchestrateResult(names, inspection.result, dry_run=engine.dry_run)
    rebuilt = None
    document = inspection.document
    if not inspection.result.valid:
        chosen = rebuild.plan(engine, inspection)
        rebuilt = rebuild.apply(engine, chosen)
        # In a dry run nothing was written, so select reads the freshly scanned document.
        document = chosen.document
    assert document is not None
    selected = select.run(engine, request.image_refs, request.match, document)
    if not selected.matches:
        return results.OrchestrateResult(
            names, inspection.result, rebuilt, selected, dry_run=engine.dry_run
        )
    restarted = restart.run(
        engine,
        restart.Request(
            targets=selected.targets,
            image_refs=request.image_refs,
            match=request.match,
            wait=request.wait,
            timeout_seconds=request.timeout_seconds,
            concurrency=request.concurrency,
            max_targets=request.max_targets,
            allow_stale_pull=request.allow_stale_pull,
        ),
    )
    return results.OrchestrateResult(
        names, inspection.result, rebuilt, selected, restarted, dry_run=engine.dry_run
    )


def parse_images(texts: Sequence[str]) -> tuple[images.ImageRef, ...]:
    return tuple(dict.fromkeys(images.parse(text) for text in texts))
