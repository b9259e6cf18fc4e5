"""Posting one report: gather it on the engine, render it, post it to Slack — as one run.

Used for both a scheduled tick (by the leader's scheduler, scheduler.py) and `/myctl report
NAME` (by any replica). Knows nothing of leases or the scheduler: the caller decides whether to
post and which period the report covers. The run goes through the one pipeline
(bot/runs/run.py): recorded in the audit trail (best effort: a trail that is down is logged and
the report still posted), then finished with its outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.rendering import reports as rendering
from bot.runs import delivery, run
from commands.engine import reports
from commands.values import errors, events, settings

# A report's sections from the cluster (commands/engine/reports.py `from_cluster`), for a
# schedule's name and kinds; the bot gathers them in an engine process (bot/runs/engines.py).
Gather = Callable[[str, tuple[str, ...]], reports.Report]


@dataclass(frozen=True)
class Posted:
    name: str
    channel: str
    ts: str
    overall: reports.Overall
    file_uploaded: bool


def post(
    pipeline: run.Pipeline,
    schedule: settings.Schedule,
    channel: str,
    user: str,
    *,
    tick: dt.datetime | None,
    since: dt.datetime,
    gather: Gather,
    runs: reports.RunSource,
) -> Posted:
    """Post `schedule`'s report, covering activity since `since`, to `channel` (a channel ID,
    or a user ID for a DM). `tick` is the scheduled time shown in the report (None: on demand).
    Slack and engine errors propagate after the run is recorded as failed; `gather` reads
    the cluster's sections, the activity comes from `runs` (the state store)."""
    posted: list[Posted] = []

    def work(_report: events.Reporter) -> run.Outcome:
        report = reports.with_activity(gather(schedule.name, schedule.reports), runs, since)
        rendered = rendering.render(report, tick=tick)
        slack = pipeline.slack
        posted_channel, ts = slack.post(channel, rendered)
        if rendered.attachment is not None:
            slack.upload(posted_channel, rendered.attachment, ts)
        overall = report.overall
        posted.append(
            Posted(schedule.name, posted_channel, ts, overall, rendered.attachment is not None)
        )
        summary = f"posted report {schedule.name} ({overall.value}) to {channel}"
        return run.Outcome(errors.EXIT_OK, summary)

    job = run.Job("report", (schedule.name,), "schedule", work, live=False)
    run.run(pipeline, job, delivery.Delivery(pipeline.slack, channel=channel, user=user))
    if pipeline.metrics is not None:
        pipeline.metrics.report_posted(schedule.name)
    return posted[0]
