"""Where a run's engine runs: in the engine processes (the default), or in this process.

The engine processes (commands/invoke/processes.py) keep CPU-heavy steps off the GIL the
listener acks with (docs/benchmarks.md §D). `rollback` stays here: it reads the audit trail,
which is this process's state store. Tests and benchmarks that give the app an in-memory
cluster have no pool: the cluster lives in this process, so the engine must too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot import commandline
from commands.engine import context
from commands.engine import reports as engine_reports
from commands.engine.context import Engine
from commands.kube import port
from commands.state import rollbacks
from commands.values import clock as clock_mod
from commands.values import events, settings

T = TypeVar("T")
# What only this process can run (it holds the state store `rollback` reads).
HERE_ONLY = frozenset({"rollback", "version"})


@dataclass(frozen=True)
class Engines:
    cluster: Callable[[], port.Cluster]  # this process's connection, for what runs here
    clock: clock_mod.Clock
    pool: commandline.EnginePool | None = None

    def execute(
        self,
        inv: commandline.Invocation,
        config: settings.Settings,
        *,
        report: events.Reporter,
        gate: context.CanaryGate,
        history: rollbacks.RunHistory | None,
    ) -> commandline.Result:
        """Run `inv` with `config`, reporting progress to `report`; `gate` answers the canary
        question, `history` is the audit trail `rollback` reads."""
        if self.pool is not None and inv.command not in HERE_ONLY:
            return self.pool.execute(inv, config, report=report, gate=gate)
        return commandline.execute(
            inv, lambda: self._here(config, report, gate, inv.options.dry_run), history=history
        )

    def read(self, function: Callable[..., T], config: settings.Settings, *args: Any) -> T:
        """`function(engine, *args)`: a read-only engine step (an approval's plan, a report's
        sections) that may be CPU work, so in an engine process when there are some."""
        if self.pool is not None:
            found: T = self.pool.call(f"{function.__module__}:{function.__name__}", config, *args)
            return found
        return function(self._here(config), *args)

    def report_sections(
        self, config: settings.Settings
    ) -> Callable[[str, tuple[str, ...]], engine_reports.Report]:
        """A schedule's report sections from the cluster, by name and kinds (the `Gather` of
        bot/scheduling/posting.py): a scan of the scope, so read in an engine process."""

        def gather(name: str, kinds: tuple[str, ...]) -> engine_reports.Report:
            return self.read(engine_reports.from_cluster, config, name, kinds)

        return gather

    def _here(
        self,
        config: settings.Settings,
        report: events.Reporter = events.discard,
        gate: context.CanaryGate = context.always_continue,
        dry_run: bool = False,
    ) -> Engine:
        return Engine(
            cluster=self.cluster(),
            settings=config,
            clock=self.clock,
            report=report,
            dry_run=dry_run,
            continue_after_canary=gate,
        )
