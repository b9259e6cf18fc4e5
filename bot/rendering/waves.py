"""Canary pauses and Roll back buttons as Slack sees them. Plain data, no I/O.

* The pause after a good canary (`--canary N` with `slack.approvals.canary`): the canary's
  verdicts (per target: verified, digests before → after) and Continue / Stop buttons, shown in
  the run's own progress message (bot/approvals/canary.py owns it; clicks never update it).
* The Roll back button on the final message of a run that restarted something, and that message
  once the button was used or expired (bot/approvals/offer.py, bot/approvals/decision.py).

Both are approval requests in the state store; the button values are their opaque ids.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.rendering import blocks
from bot.rendering.blocks import Block, Rendered
from commands.state import records
from commands.values import events, results

ACTION_CONTINUE = "myctl_canary_continue"
ACTION_STOP = "myctl_canary_stop"
ACTION_ROLLBACK = "myctl_rollback"
CANARY_BLOCK_ID = "myctl_canary_actions"
ROLLBACK_BLOCK_ID = "myctl_rollback_actions"

# `ApprovalRecord.command` of the requests behind these buttons. Not myctl commands, so a
# request for `/myctl rollback` (approvals.commands) is never taken for a button's.
CANARY_REQUEST = "canary-pause"
ROLLBACK_REQUEST = "rollback-button"


def is_canary(approval: records.ApprovalRecord) -> bool:
    return approval.command == CANARY_REQUEST


def is_rollback(approval: records.ApprovalRecord) -> bool:
    return approval.command == ROLLBACK_REQUEST


# --------------------------------------------------------------------------- canary pause


def verdict_line(item: results.TargetOutcome) -> str:
    """One canary target: its verdict and digests, e.g. `deployment/shop/api: updated
    sha256:1a2b… → sha256:3c4d…`."""
    verdict = item.verified.value if item.outcome is events.Outcome.RESTARTED else ""
    shown = verdict or item.outcome.value.replace("-", " ")
    change = item.digest_change()
    return f"{item.target}: {shown}" + (f" `{change}`" if change else "")


def verdicts_text(canary: Sequence[results.TargetOutcome]) -> str:
    lines = [f"• {verdict_line(item)}" for item in canary]
    return f"*Canary passed* ({len(canary)})\n" + "\n".join(lines)


@dataclass(frozen=True)
class Pause:
    """A run paused after its canary, as its progress message shows it."""

    approval_id: str
    verdicts: str  # verdicts_text of the canary
    rest: int | None  # targets waiting for Continue, when known
    approvers: str  # who may press Continue (approvals.approvers_text)
    expires_at: dt.datetime


def pause_blocks(pause: Pause) -> list[Block]:
    rest = f" the other {pause.rest} targets" if pause.rest else " the rest"
    ask = (
        f":double_vertical_bar: Paused after the canary. *Continue* rolls out{rest}; *Stop* "
        f"leaves them not started. Continue: {pause.approvers}; Stop: they or the requester. "
        f"No decision by {blocks.date(pause.expires_at)} stops the run."
    )
    confirm = ("Continue the rollout?", f"This rolls the image out to{rest} now.", "Continue")
    return [
        blocks.section(blocks.fit(pause.verdicts)),
        blocks.context(ask),
        blocks.actions(
            CANARY_BLOCK_ID,
            blocks.button(
                ACTION_CONTINUE, "Continue", pause.approval_id, style="primary", confirm=confirm
            ),
            blocks.button(ACTION_STOP, "Stop", pause.approval_id, style="danger"),
        ),
    ]


def continued(actor: str) -> str:
    return f":arrow_forward: Continued after the canary by <@{actor}>"


def stopped(actor: str) -> str:
    return f":no_entry_sign: Stopped after the canary by <@{actor}>; the rest were not started"


def pause_expired(expires_at: dt.datetime) -> str:
    return (
        f":hourglass: Nobody decided by {blocks.date(expires_at)}: stopped after the canary; "
        "the rest were not started"
    )


def pause_unavailable(why: str) -> str:
    return f":warning: Could not pause after the canary ({why}): stopped; the rest not started"


# --------------------------------------------------------------------------- roll back


def stored_message(final: Rendered) -> str:
    """What a Roll back request keeps of the run's final message (its plan_text), so that the
    message can be shown again without the button once it was used or expired."""
    return json.dumps({"text": final.text, "blocks": final.blocks})


def _restored(approval: records.ApprovalRecord) -> tuple[str, list[Block]]:
    try:
        kept: dict[str, Any] = json.loads(approval.plan_text)
        return str(kept["text"]), [b for b in kept["blocks"] if isinstance(b, dict)]
    except (ValueError, KeyError, TypeError):
        return approval.plan_text, []


def undo_line(approval: records.ApprovalRecord) -> str:
    return f"`{blocks.escape(' '.join(approval.argv))}`"


def rollback_button(approval: records.ApprovalRecord) -> Block:
    text = (
        f"Every workload this run restarted gets the digest it ran before "
        f"({undo_line(approval)}), waited for and verified."
    )
    return blocks.actions(
        ROLLBACK_BLOCK_ID,
        blocks.button(
            ACTION_ROLLBACK,
            "Roll back",
            approval.id,
            style="danger",
            confirm=("Roll back this run?", text, "Roll back"),
        ),
    )


def with_rollback(final: Rendered, approval: records.ApprovalRecord) -> Rendered:
    """The final message with its Roll back button last (kept within the block limit)."""
    kept = final.blocks
    if len(kept) >= blocks.MAX_BLOCKS:
        kept = [*kept[: blocks.MAX_BLOCKS - 2], kept[-1]]
    return Rendered(final.text, [*kept, rollback_button(approval)], final.attachment)


def rollback_decided(approval: records.ApprovalRecord, status: str) -> Rendered:
    """The run's final message again, its button replaced by `status`."""
    text, shown = _restored(approval)
    kept = [b for b in shown if b.get("type") != "actions"][: blocks.MAX_BLOCKS - 1]
    return Rendered(text, [*kept, blocks.context(status)])


def rollback_pending(approval: records.ApprovalRecord, votes: str) -> Rendered:
    """After a vote that is not yet enough: the button stays, with the votes so far."""
    text, shown = _restored(approval)
    kept = [b for b in shown if b.get("type") != "actions"][: blocks.MAX_BLOCKS - 2]
    return Rendered(text, [*kept, blocks.context(votes), rollback_button(approval)])


def rollback_approved(actor: str) -> str:
    return f":leftwards_arrow_with_hook: Roll back approved by <@{actor}>; rolling back…"


def rollback_expired(approval: records.ApprovalRecord) -> str:
    return (
        f":hourglass: The Roll back button expired {blocks.date(approval.expires_at)}; "
        f"{undo_line(approval)} still works."
    )


def undoes(run: records.RunRecord | None, run_id: str) -> str:
    """The line of a rollback's final message that links the run it undoes."""
    shown = f"<{run.permalink}|{run_id}>" if run and run.permalink else f"`{run_id}`"
    return f":leftwards_arrow_with_hook: undoes run {shown}"
