"""Posting one report: gather it on the engine, render it, post it to Slack, record the run.

Used for both a scheduled tick (by the leader's scheduler, bot/scheduling.py) and `/myctl report
NAME` (by any replica). Knows nothing of leases or the scheduler: the caller decides whether to
post and which period the report covers.

The audit trail is best effort here: a state store that is down is logged, and the report is
still posted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot import reports as rendering
from commands.engine import reports
from commands.engine.context import Engine
from commands.values import errors, settings

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)


class RunStore(reports.RunSource, Protocol):
    """The part of `commands.state.store.StateStore` used here."""

    def start_run(
        self,
        *,
        command: str,
        argv: list[str],
        user: str,
        channel: str,
        source: str,
        dry_run: bool,
        message_ts: str | None = None,
        permalink: str | None = None,
        owner: str = "",
    ) -> str: ...

    def finish_run(
        self, run_id: str, *, exit_code: int, summary: str, details: dict[str, Any] | None = None
    ) -> None: ...


@dataclass(frozen=True)
class Posted:
    name: str
    channel: str
    ts: str
    overall: reports.Overall
    file_uploaded: bool


def post(
    schedule: settings.Schedule,
    channel: str,
    user: str,
    *,
    tick: dt.datetime | None,
    since: dt.datetime,
    web_client: WebClient,
    engine_factory: Callable[[], Engine],
    store: RunStore | None,
    identity: str,
) -> Posted:
    """Post `schedule`'s report, covering activity since `since`, to `channel` (a channel ID,
    or a user ID for a DM). `tick` is the scheduled time shown in the report (None: on demand).
    Slack and engine errors propagate after the run is recorded as failed."""
    run_id = _start_run(store, identity, schedule, channel, user)
    try:
        report = reports.gather(
            engine_factory(),
            schedule.name,
            schedule.reports,
            runs=store,
            since=since,
        )
        rendered = rendering.render(report, tick=tick)
        response = web_client.chat_postMessage(
            channel=channel, text=rendered.text, blocks=rendered.blocks
        )
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        if rendered.file is not None:
            web_client.files_upload_v2(
                channel=posted_channel,
                thread_ts=ts,
                content=rendered.file.content,
                filename=rendered.file.filename,
                title=rendered.file.title,
            )
    except Exception as exc:
        _finish_run(store, run_id, errors.EXIT_FAILED, f"report {schedule.name} failed: {exc}")
        raise
    overall = report.overall
    _finish_run(
        store,
        run_id,
        errors.EXIT_OK,
        f"posted report {schedule.name} ({overall.value}) to {channel}",
    )
    return Posted(schedule.name, posted_channel, ts, overall, rendered.file is not None)


def _start_run(
    store: RunStore | None, identity: str, schedule: settings.Schedule, channel: str, user: str
) -> str | None:
    if store is None:
        return None
    try:
        return store.start_run(
            command="report",
            argv=[schedule.name],
            user=user,
            channel=channel,
            source="schedule",
            dry_run=False,
            owner=identity,
        )
    except errors.MyctlError as exc:  # the audit trail is down: still post the report
        log.warning("could not record the report run: %s", exc)
        return None


def _finish_run(store: RunStore | None, run_id: str | None, exit_code: int, summary: str) -> None:
    if store is None or run_id is None:
        return
    try:
        store.finish_run(run_id, exit_code=exit_code, summary=summary)
    except errors.MyctlError as exc:
        log.warning("could not record the report outcome: %s", exc)
