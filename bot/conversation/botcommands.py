"""Commands only the Slack bot has: `history [N]`, `schedule list`, `report NAME`.

They are not in the CLI's parser (they read the bot's state store and scheduler), so
bot/conversation/parse.py routes them here before parsing. `parse` runs in the listener and
only checks usage (an error is the ack itself); `run` runs on the job runner and answers
ephemerally, except `report`, which posts the report to the caller.

APScheduler is imported only when a schedule command runs: a bot without schedules never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import services as services_mod
from bot.rendering import history, schedules
from bot.runs import delivery
from bot.scheduling import registry
from commands.state import store as store_mod
from commands.values import errors

log = logging.getLogger(__name__)

COMMANDS = frozenset({"history", "schedule", "report"})
DEFAULT_HISTORY = 10


@dataclass(frozen=True)
class BotCommand:
    command: str
    args: tuple[str, ...]
    limit: int = DEFAULT_HISTORY  # history


def parse_limit(args: Sequence[str]) -> int:
    """`history`, `history 25`: the number of runs, 1..MAX_HISTORY (exit 2 otherwise)."""
    if not args:
        return DEFAULT_HISTORY
    top = store_mod.MAX_HISTORY
    if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= top:
        raise errors.UsageError(f"usage: /myctl history [N], N from 1 to {top}")
    return int(args[0])


def parse(argv: Sequence[str]) -> BotCommand:
    """Usage errors raise errors.UsageError (exit 2), answered in the ack."""
    command, args = argv[0], tuple(argv[1:])
    if command == "history":
        return BotCommand(command, args, parse_limit(args))
    if command == "schedule":
        if args != ("list",):
            raise errors.UsageError("usage: /myctl schedule list")
        return BotCommand(command, args)
    if len(args) != 1:
        raise errors.UsageError("usage: /myctl report NAME (see /myctl schedule list)")
    return BotCommand(command, args)


def run(services: services_mod.Services, cmd: BotCommand, talk: delivery.Delivery) -> int:
    """Answer one bot command; returns its exit code (errors are the caller's to show)."""
    if cmd.command == "history":
        talk.ephemeral(history.history(services.store.history(cmd.limit)))
        return errors.EXIT_OK
    if cmd.command == "schedule":
        return _schedule_list(services, talk)
    return _report(cmd.args[0], talk)


def _schedule_list(services: services_mod.Services, talk: delivery.Delivery) -> int:
    active = registry.active()
    if active is not None:
        leader = active.elector is not None and active.elector.is_leader
        infos = active.list_schedules()
        running = active.elector is not None
    else:
        # Not started in this process (no schedules, or tests): what the configuration says.
        from bot.scheduling import triggers  # lazy: see the module docstring

        config = services.base_settings()
        infos = triggers.schedule_infos(config.schedules, services.clock.now())
        leader = running = False
    talk.ephemeral(schedules.schedule_list(infos, running=running, leader=leader))
    return errors.EXIT_OK


def _report(name: str, talk: delivery.Delivery) -> int:
    active = registry.active()
    if active is None:
        raise errors.ConfigError(
            "scheduled reports are not configured in this bot (`schedules:` in its configuration)"
        )
    # Posted to the caller's user id: Slack delivers it in the DM with them.
    active.post_report_now(name, talk.user, user=talk.user)
    log.info("report %s posted for %s", name, talk.user)
    return errors.EXIT_OK
