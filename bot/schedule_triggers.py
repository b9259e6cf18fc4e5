"""Schedule times: each configured schedule's APScheduler trigger, and the tick before a moment.

`build_triggers` validates every schedule (time zone, cron, report kinds) before anything starts,
so a bad configuration fails at startup naming the schedule. `previous_fire` answers "when was
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

from commands.engine import reports
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
    """Validate every schedule before anything starts; the error names the schedule."""
    triggers: dict[str, Trigger] = {}
    for schedule in schedules:
        where = f"schedules[{schedule.name}]"
        try:
            zone = zoneinfo.ZoneInfo(schedule.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise errors.ConfigError(
                f"{where}.timezone: unknown time zone {schedule.timezone!r}"
            ) from exc
        try:
            cron = CronTrigger.from_crontab(schedule.cron, timezone=zone)
        except ValueError as exc:
            raise errors.ConfigError(
                f"{where}.cron: invalid cron {schedule.cron!r}: {exc}"
            ) from exc
        for kind in schedule.reports:
            if kind not in reports.KINDS:
                raise errors.ConfigError(f"{where}.reports: unknown report {kind!r}")
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
