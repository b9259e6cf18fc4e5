"""Commands only the Slack bot has: `history [N]`, `schedule list`, `report NAME`.

They are not in the CLI's parser (they read the bot's state store and scheduler), so
`slash.handle` routes them here before parsing. `parse` runs in the listener and only checks
usage (an error is the ack itself); `run` runs on the job runner and answers ephemerally,
except `report`, which posts the report to the caller.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import audit, delivery, messages, schedule_triggers
from bot import scheduling as scheduling_mod
from bot import services as services_mod
from commands.values import errors

log = logging.getLogger(__name__)

COMMANDS = frozenset({"history", "schedule", "report"})


@dataclass(frozen=True)
class BotCommand:
    command: str
    args: tuple[str, ...]
    limit: int = audit.DEFAULT_HISTORY  # history


def parse(argv: Sequence[str]) -> BotCommand:
    """Usage errors raise errors.UsageError (exit 2), answered in the ack."""
    command, args = argv[0], tuple(argv[1:])
    if command == "history":
        return BotCommand(command, args, audit.parse_limit(args))
    if command == "schedule":
        if args != ("list",):
            raise errors.UsageError("usage: /myctl schedule list")
        return BotCommand(command, args)
    if len(args) != 1:
        raise errors.UsageError("usage: /myctl report NAME (see /myctl schedule list)")
    return BotCommand(command, args)


def run(services: services_mod.Services, cmd: BotCommand, talk: delivery.Delivery) -> int:
    """Answer one bot command; returns its exit code."""
    try:
        if cmd.command == "history":
            return _history(services, cmd.limit, talk)
        if cmd.command == "schedule":
            return _schedule_list(services, talk)
        return _report(services, cmd.args[0], talk)
    except errors.MyctlError as exc:
        talk.ephemeral(messages.usage_error(str(exc)))
        return exc.exit_code


def _history(services: services_mod.Services, limit: int, talk: delivery.Delivery) -> int:
    if services.store is None:
        raise errors.ConfigError("history needs the state store (MYCTL_STATE_URL)")
    runs = services.store.history(limit)
    talk.ephemeral(messages.Rendered(audit.history_text(runs), audit.history_blocks(runs)))
    return errors.EXIT_OK


# --------------------------------------------------------------------------- schedules


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "never"
    utc = moment.astimezone(dt.UTC)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{utc:%Y-%m-%d %H:%M} UTC>"


def schedule_lines(infos: Sequence[scheduling_mod.ScheduleInfo]) -> list[str]:
    return [
        f"• *{info.name}*: `{info.cron}` ({info.timezone}) → <#{info.channel}>, "
        f"{', '.join(info.reports)}; next run {_when(info.next_run)}"
        for info in infos
    ]


def schedule_list(
    infos: Sequence[scheduling_mod.ScheduleInfo], *, running: bool, leader: bool
) -> messages.Rendered:
    if not infos:
        return messages.plain(
            "No schedules are configured (`schedules:` in the bot's configuration file)."
        )
    if not running:
        status = ":warning: The scheduler is not running in this bot; nothing is posted."
    elif leader:
        status = "This replica holds the lease and runs the scheduler."
    else:
        status = "Another replica (the lease holder) runs the scheduler."
    head = f"Scheduled reports ({len(infos)})"
    body = "\n".join(schedule_lines(infos))
    return messages.Rendered(
        text=f"{head}: " + ", ".join(info.name for info in infos),
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{body}"[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": status}]},
        ],
    )


def _schedule_list(services: services_mod.Services, talk: delivery.Delivery) -> int:
    active = scheduling_mod.active()
    if active is not None:
        leader = active.elector is not None and active.elector.is_leader
        infos = active.list_schedules()
        talk.ephemeral(schedule_list(infos, running=active.elector is not None, leader=leader))
        return errors.EXIT_OK
    # Not started in this process (tests, or no schedules): list what the configuration says.
    config = services.base_settings()
    triggers = schedule_triggers.build_triggers(config.schedules)
    now = services.clock.now()
    infos = [
        scheduling_mod.ScheduleInfo(
            s.name, s.cron, s.timezone, s.channel, s.reports,
            triggers[s.name].get_next_fire_time(None, now),
        )
        for s in config.schedules
    ]  # fmt: skip
    talk.ephemeral(schedule_list(infos, running=False, leader=False))
    return errors.EXIT_OK


def _report(services: services_mod.Services, name: str, talk: delivery.Delivery) -> int:
    active = scheduling_mod.active()
    if active is None:
        raise errors.ConfigError(
            "scheduled reports are not configured in this bot (`schedules:` in its configuration)"
        )
    # Posted to the caller's user id: Slack delivers it in the DM with them.
    posted = active.post_report_now(name, talk.user, user=talk.user)
    log.info("report %s posted for %s", posted.name, talk.user)
    return errors.EXIT_OK
