"""`orchestrate`: check → (rebuild if the cache is not valid) → select → restart.

The automated entry point (CI, registry webhooks, Slack): it rebuilds without asking, because a
rebuild only refreshes an index; the restart it leads to is still bounded by --max-targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.engine import check, rebuild, restart, select
from commands.engine.context import Engine
from commands.values import images, requests, results


@dataclass(frozen=True)
class Request:
    image_refs: tuple[images.ImageRef, ...]
    options: requests.RestartOptions = field(default_factory=requests.RestartOptions)


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
    selected = select.run(engine, request.image_refs, request.options.match, document)
    if not selected.matches:
        return results.OrchestrateResult(
            names, inspection.result, rebuilt, selected, dry_run=engine.dry_run
        )
    restarted = restart.run(
        engine,
        restart.Request(selected.targets, request.image_refs, request.options),
    )
    return results.OrchestrateResult(
        names, inspection.result, rebuilt, selected, restarted, dry_run=engine.dry_run
    )
