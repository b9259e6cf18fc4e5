"""The plan an approval request shows: one cache read, and one scan for the commands that
rebuild. Nothing is written. A scan of 10k workloads is CPU work, so the bot runs this in an
engine process (bot/runs/engines.py), like a run."""

from __future__ import annotations

from commands.engine import check, rebuild
from commands.engine.context import Engine
from commands.values import errors, plans

SCANNING_COMMANDS = frozenset({"rebuild", "orchestrate"})


def gather(engine: Engine, command: str) -> plans.Plan:
    cache = engine.settings.cache
    plan = plans.Plan(
        scope=engine.settings.scope.describe(),
        cache=f"{cache.namespace}/{cache.name}",
        check=check.inspect(engine).result,
    )
    if command not in SCANNING_COMMANDS:
        return plan
    try:
        count = sum(1 for _ in rebuild.scan(engine))
    except errors.MyctlError as exc:
        return plans.Plan(plan.scope, plan.cache, plan.check, scan_error=str(exc))
    return plans.Plan(plan.scope, plan.cache, plan.check, scanned=count)
