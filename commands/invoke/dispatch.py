"""Run one parsed invocation on an engine. Shared by the terminal, Slack and registry hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from commands.engine import check, select
from commands.invoke import invocation
from commands.values import errors, results

if TYPE_CHECKING:
    from commands.engine import rebuild
    from commands.engine.context import Engine
    from commands.state import rollbacks

# The other steps (rebuild, restart, orchestrate, rollback and the audit trail's records) are
# imported by the command that runs them: a cached `myctl select`/`check` is a process that
# pays for every import it makes (docs/benchmarks.md §4).

VERSION = "0.1.0"


@dataclass(frozen=True)
class Message:
    """A result that is only text (version, completion)."""

    command: str
    text: str
    exit_code: int = errors.EXIT_OK

    def summary(self) -> str:
        return self.text

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "exit_code": self.exit_code, "text": self.text}


Result = (
    results.CheckResult
    | results.RebuildResult
    | results.SelectResult
    | results.RestartResult
    | results.OrchestrateResult
    | results.RollbackResult
    | Message
)
# Called with the rebuild plan before anything is written; False cancels.
Confirm = Callable[["rebuild.Plan"], bool]


def already_approved(_plan: rebuild.Plan) -> bool:
    """The confirm of front doors that never prompt (Slack, its engine processes): a run
    reaches the engine only once it was approved, or when configuration asks for no approval
    (bot/approvals/request.py decides which)."""
    return True


def version() -> Message:
    return Message("version", f"myctl {VERSION}")


def execute(
    inv: invocation.Invocation,
    make_engine: Callable[[], Engine],
    confirm: Confirm,
    *,
    history: rollbacks.RunHistory | None = None,
) -> Result:
    """Run `inv` on the engine `make_engine()` builds (`version` needs none, nor a cluster).
    `history` is the audit trail (a `StateStore`): `rollback` reads it."""
    if inv.command == "version":
        return version()
    engine = make_engine()
    if inv.command == "check":
        return check.run(engine)
    if inv.command == "rebuild":
        from commands.engine import rebuild

        chosen = rebuild.plan(engine)
        if not engine.dry_run and not confirm(chosen):
            raise errors.Cancelled("rebuild cancelled; nothing was written")
        return rebuild.apply(engine, chosen)
    if inv.command == "select":
        return select.run(engine, inv.image_refs, inv.match)
    if inv.command == "restart":
        return _restart(inv, engine)
    if inv.command == "orchestrate":
        from commands.engine import orchestrate

        return orchestrate.run(engine, orchestrate.Request(inv.image_refs, inv.restart))
    if inv.command == "rollback":
        return _rollback(inv, engine, history)
    raise errors.UsageError(f"unknown command {inv.command!r}")


def _restart(inv: invocation.Invocation, engine: Engine) -> results.RestartResult:
    if inv.image_refs:
        selected = select.run(engine, inv.image_refs, inv.restart.match)
        targets = selected.targets
        if not targets:
            return results.RestartResult((), engine.dry_run, (selected.summary(),))
    else:
        targets = inv.target_refs()
    from commands.engine import restart

    return restart.run(engine, restart.Request(targets, inv.image_refs, inv.restart))


def _rollback(
    inv: invocation.Invocation, engine: Engine, history: rollbacks.RunHistory | None
) -> results.RestartResult:
    from commands.engine import rollback
    from commands.state import rollbacks

    if history is None:
        raise errors.ConfigError(
            "rollback needs the state store, where each run keeps the digests it replaced: "
            "set MYCTL_STATE_URL to the state database (e.g. sqlite:///myctl-state.db)"
        )
    if inv.run_id is None:
        run = rollbacks.latest_restarting_run(history)
        if run is None:
            why = "no run in the audit trail restarted anything: nothing to roll back"
            return results.RollbackResult((), engine.dry_run, (why,))
    else:
        run = history.get_run(inv.run_id)
        if run is None:
            raise errors.UsageError(f"rollback --run: no run {inv.run_id!r} in the audit trail")
        if run.dry_run:
            raise errors.UsageError(
                f"rollback --run: run {run.id} was a dry run: it changed nothing"
            )
        if run.state != "finished":
            raise errors.UsageError(
                f"rollback --run: run {run.id} is {run.state}: its outcome was never recorded"
            )
    return rollback.run(engine, rollback.Request(run, inv.restart))
