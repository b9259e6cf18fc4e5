"""At start: runs this replica left "running" died with its previous process.

They are marked interrupted in the trail, and their Slack messages say so (the outcome is
unknown), before the bot takes any request.
"""

from __future__ import annotations

import logging

from bot.rendering import outcomes
from bot.runs import delivery
from commands.state import store as store_mod

log = logging.getLogger(__name__)


def mark(slack: delivery.Slack, store: store_mod.StateStore, owner: str) -> int:
    """Mark `owner`'s unfinished runs and their messages; returns how many were marked."""
    interrupted = store.mark_interrupted(owner)
    for run in interrupted:
        rendered = outcomes.interrupted(run.argv, run.user)
        slack.update_quietly(run.message_channel or run.channel, run.message_ts, rendered)
    if interrupted:
        log.info("marked %d unfinished runs as interrupted", len(interrupted))
    return len(interrupted)
