"""Schedule times: each configured schedule's APScheduler trigger, and the tick before a moment.

`build_triggers` parses every schedule's cron expression before anything starts, so a bad one
fails at startup naming the schedule (time zones and report kinds were already checked, once,
when the configuration was read: commands/values/config.py). `previous_fire` answers "when was
the last tick", which APScheduler 3 cannot (it only searches forwards): the report covers the
activity since then.

Only triggers here: no scheduler, no job store, no Slack.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.rendering import schedules as schedules_text
from commands.values import errors, settings

# Interval triggers (MYCTL_SCHEDULE_EVERY_SECONDS) start at a fixed epoch so every replica
# computes the same ticks and the stored job compares equal across restarts.
_INTERVAL_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
# Windows searched backwards for a schedule's previous tick (activity "since the last report").
_LOOKBACK = (dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=8),
             dt.timedelta(days=32), dt.timedelta(days=367))  # fmt: skip

# CronTrigger or IntervalTrigger; APScheduler 3 ships no type information.
Trigger = Any


def build_triggers(
    schedules: tuple[settings.Schedule, ...], every_seconds: float | None = None
) -> dict[str, Trigger]:
    """Parse every schedule's cron before anything starts; the error names the schedule."""
    triggers: dict[str, Trigger] = {}
    for schedule in schedules:
        where = f"schedules[{schedule.name}]"
        zone = zoneinfo.ZoneInfo(schedule.timezone)  # a known zone: the configuration said so
        try:
            cron = CronTrigger.from_crontab(schedule.cron, timezone=zone)
        except ValueError as exc:
            raise errors.ConfigError(
                f"{where}.cron: invalid cron {schedule.cron!r}: {exc}"
            ) from exc
        triggers[schedule.name] = (
            IntervalTrigger(seconds=every_seconds, start_date=_INTERVAL_EPOCH, timezone=dt.UTC)
            if every_seconds
            else cron
        )
    return triggers


def previous_fire(trigger: Trigger, before: dt.datetime) -> dt.datetime | None:
    """The latest fire time strictly before `before` (APScheduler 3 only searches forwards)."""
    for window in _LOOKBACK:
        latest: dt.datetime | None = None
        fire = trigger.get_next_fire_time(None, before - window)
        while fire is not None and fire < before:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
        if latest is not None:
            return latest
    return None


def info(schedule: settings.Schedule, next_run: dt.datetime | None) -> schedules_text.ScheduleInfo:
    return schedules_text.ScheduleInfo(
        schedule.name,
        schedule.cron,
        schedule.timezone,
        schedule.channel,
        schedule.reports,
        next_run,
    )


def schedule_infos(
    schedules: tuple[settings.Schedule, ...], now: dt.datetime
) -> list[schedules_text.ScheduleInfo]:
    """What `/myctl schedule list` shows where no scheduler runs: next runs from the cron."""
    triggers = build_triggers(schedules)
    return [info(s, triggers[s.name].get_next_fire_time(None, now)) for s in schedules]
