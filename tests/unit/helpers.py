"""Shared set-up for engine tests: an in-memory cluster, a fake clock, a recording reporter."""

from __future__ import annotations

import dataclasses
from typing import Any

from commands.engine.context import Engine
from commands.kube import memory
from commands.values import clock, events, settings, workloads

Kind = workloads.Kind


class Recorder:
    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


def make_engine(
    cluster: memory.MemoryCluster,
    *,
    dry_run: bool = False,
    fake_clock: clock.FakeClock | None = None,
    recorder: Recorder | None = None,
    page_size: int = 500,
    **overrides: Any,
) -> Engine:
    base = settings.Settings()
    if overrides:
        base = dataclasses.replace(base, **overrides)
    chosen_clock = fake_clock or clock.FakeClock()
    cluster.clock = chosen_clock  # a watch with nothing to report waits on the engine's clock
    return Engine(
        cluster=cluster,
        settings=base,
        clock=chosen_clock,
        report=recorder or events.discard,
        dry_run=dry_run,
        page_size=page_size,
    )
