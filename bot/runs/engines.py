"""Where a run's engine runs: in the engine processes (the default), or in this process.

The engine processes (commands/invoke/processes.py) keep CPU-heavy steps off the GIL the
listener acks with (docs/benchmarks.md §D). `rollback` stays here: it reads the audit trail,
which is this process's state store. Tests and benchmarks that give the app an in-memory
cluster have no pool: the cluster lives in this process, so the engine must too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import commandline
from commands.engine import context
from commands.engine import plans as engine_plans
from commands.engine.context import Engine
from commands.kube import port
from commands.state import rollbacks
from commands.values import clock as clock_mod
from commands.values import events, plans, settings

PLAN = f"{engine_plans.__name__}:{engine_plans.gather.__name__}"
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

    def plan(self, command: str, config: settings.Settings) -> plans.Plan:
        """What an approval request for `command` shows (read-only; a scan for rebuilds)."""
        if self.pool is not None:
            found: plans.Plan = self.pool.call(PLAN, config, command)
            return found
        return engine_plans.gather(self._here(config), command)

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
