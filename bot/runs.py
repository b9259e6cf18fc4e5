"""The audit trail of Slack runs: recorded before a run starts, linked to its message, finished
with the exit code; and, at start, runs a crash left behind are marked interrupted.

The audit trail must never stop a run: a store error is logged and the run goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import delivery, messages
from bot import services as services_mod
from commands.cli import invocation
from commands.state import store as store_mod
from commands.values import errors

log = logging.getLogger(__name__)


def start(
    services: services_mod.Services, inv: invocation.Invocation, talk: delivery.Delivery
) -> str | None:
    if services.store is None:
        return None
    try:
        return services.store.start_run(
            command=inv.command,
            argv=list(inv.argv) or [inv.command],
            user=talk.user,
            channel=talk.channel,
            source="slack",
            dry_run=inv.options.dry_run,
            owner=services.owner,
        )
    except errors.MyctlError as exc:
        log.warning("could not record the run of %s: %s", inv.command, exc)
        return None


def link_message(
    services: services_mod.Services, run_id: str | None, talk: delivery.Delivery
) -> None:
    """Store where the run's message is (so a restart can mark it) and its permalink."""
    conversation, ts = talk.conversation, talk.ts
    if services.store is None or run_id is None or not (conversation and ts):
        return
    permalink: str | None = None
    try:
        permalink = str(
            services.client.chat_getPermalink(channel=conversation, message_ts=ts)["permalink"]
        )
    except (SlackApiError, KeyError) as exc:
        log.info("no permalink for run %s: %s", run_id, type(exc).__name__)
    try:
        services.store.set_run_message(
            run_id, channel=conversation, message_ts=ts, permalink=permalink
        )
    except errors.MyctlError as exc:
        log.warning("could not record the run's message: %s", exc)


def finish(
    services: services_mod.Services,
    run_id: str | None,
    exit_code: int,
    summary: str,
    details: dict[str, Any] | None,
) -> None:
    if services.store is None or run_id is None:
        return
    first = summary.strip().splitlines()[0] if summary.strip() else f"exit {exit_code}"
    try:
        services.store.finish_run(run_id, exit_code=exit_code, summary=first, details=details)
    except errors.MyctlError as exc:
        log.warning("could not record the outcome of run %s: %s", run_id, exc)


def mark_interrupted(client: WebClient, store: store_mod.StateStore, owner: str) -> int:
    """At start: this replica's runs still "running" died with its previous process. Mark them
    and say so in their Slack messages. Returns how many were marked."""
    interrupted = store.mark_interrupted(owner)
    for run in interrupted:
        rendered = messages.interrupted(run.argv, run.user)
        channel = run.message_channel or run.channel
        if not (run.message_ts and channel):
            continue
        try:
            client.chat_update(
                channel=channel, ts=run.message_ts, text=rendered.text, blocks=rendered.blocks
            )
        except SlackApiError as exc:
            log.warning("could not mark run %s interrupted in Slack: %s", run.id, exc.response)
    if interrupted:
        log.info("marked %d unfinished runs as interrupted", len(interrupted))
    return len(interrupted)
