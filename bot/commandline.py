"""The one seam between bot/ and the command line: the CLI's parser, invocation, dispatch.

`/myctl` is parsed by the CLI's own parser and run by its dispatcher, so Slack and the terminal
cannot drift apart. Every bot module reaches them through this module only, so moving them
(see docs/architecture.md) changes this file alone. The names below are that seam, not
re-exports kept for old callers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from commands.cli import parser
from commands.engine.context import Engine
from commands.invoke import dispatch, invocation, processes, worker
from commands.state import rollbacks
from commands.values import settings

Invocation = invocation.Invocation
Result = dispatch.Result
MUTATING_COMMANDS = invocation.MUTATING_COMMANDS
EnginePool = processes.EnginePool
EngineRecipe = worker.Recipe


def commands() -> Collection[str]:
    """The subcommands the parser knows."""
    return parser.cli.commands


def usage_text(command: str | None = None) -> str:
    return parser.usage_text(command)


def parse(argv: Sequence[str]) -> Invocation:
    """The invocation for `argv`; errors.UsageError (exit 2) when it does not parse."""
    return parser.parse(list(argv))


def settings_for(inv: Invocation, environ: Mapping[str, str]) -> settings.Settings:
    return invocation.settings_for(inv, environ)


def execute(
    inv: Invocation,
    engine: Callable[[], Engine],
    *,
    history: rollbacks.RunHistory | None = None,
) -> Result:
    """Run `inv` on the engine `engine()` makes; `version` needs none (nor a cluster).
    `history` is the audit trail `rollback` reads (the bot's state store)."""
    return dispatch.execute(inv, engine, dispatch.already_approved, history=history)
