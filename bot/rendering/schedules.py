"""`/myctl schedule list`: each schedule, when it runs next, and who runs the scheduler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.rendering import blocks


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    cron: str
    timezone: str
    channel: str
    reports: tuple[str, ...]
    next_run: dt.datetime | None


def schedule_lines(infos: Sequence[ScheduleInfo]) -> list[str]:
    return [
        f"• *{info.name}*: `{info.cron}` ({info.timezone}) → <#{info.channel}>, "
        f"{', '.join(info.reports)}; next run {blocks.date(info.next_run)}"
        for info in infos
    ]


def schedule_list(infos: Sequence[ScheduleInfo], *, running: bool, leader: bool) -> blocks.Rendered:
    if not infos:
        return blocks.plain(
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
    return blocks.Rendered(
        text=f"{head}: " + ", ".join(info.name for info in infos),
        blocks=[blocks.section(f"*{head}*\n{body}"), blocks.context(status)],
    )
