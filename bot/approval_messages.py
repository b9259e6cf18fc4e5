"""What approval requests look like in Slack: the request message, its buttons, its status lines
after a decision, and the ephemeral refusals. Plain data, tested without Slack.

The flow that posts and updates these messages is bot/approvals.py. No I/O here.
"""

from __future__ import annotations

import datetime as dt

from bot import messages
from commands.state import records
from commands.values import settings

ACTION_APPROVE = "myctl_approve"
ACTION_CANCEL = "myctl_cancel"
ACTIONS_BLOCK_ID = "myctl_approval_actions"

Block = messages.Block


def command_text(approval: records.ApprovalRecord) -> str:
    return "myctl " + " ".join(approval.argv) if approval.argv else f"myctl {approval.command}"


def slack_date(moment: dt.datetime) -> str:
    """Shown in each reader's time zone by Slack; the fallback is UTC."""
    utc = moment.astimezone(dt.UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def approvers_text(approvals: settings.ApprovalSettings) -> str:
    names = [f"<@{u}>" for u in approvals.approver_users]
    names += [f"<!subteam^{g}>" for g in approvals.approver_usergroups]
    return ", ".join(names) if names else "nobody (no approvers configured)"


def _head(approval: records.ApprovalRecord) -> list[Block]:
    command = messages.fit(messages.escape(command_text(approval)), 2000)
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Approval needed: {approval.command}"[:150]},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"<@{approval.requester}> asked to run `{command}`",
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": messages.fit(messages.escape(approval.plan_text))},
        },
    ]


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": messages.fit(text)}]}


def request_text(approval: records.ApprovalRecord) -> str:
    """Notification fallback text of the request message."""
    return (
        f"Approval needed: <@{approval.requester}> asked to run "
        f"`{messages.escape(command_text(approval))}` (expires {slack_date(approval.expires_at)})"
    )


def buttons(approval: records.ApprovalRecord) -> Block:
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_APPROVE,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": approval.id,
                "confirm": {
                    "title": {"type": "plain_text", "text": f"Approve {approval.command}?"[:100]},
                    "text": {
                        "type": "mrkdwn",
                        "text": messages.fit(
                            f"This runs `{messages.escape(command_text(approval))}` now, "
                            f"as requested by <@{approval.requester}>.",
                            300,
                        ),
                    },
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Back"},
                },
            },
            {
                "type": "button",
                "action_id": ACTION_CANCEL,
                "text": {"type": "plain_text", "text": "Cancel"},
                "style": "danger",
                "value": approval.id,
            },
        ],
    }


def request_blocks(
    approval: records.ApprovalRecord, approvals: settings.ApprovalSettings
) -> list[Block]:
    """The pending request: plan, who may approve, when it expires, the two buttons."""
    need = max(approvals.required, 1)
    so_far = ""
    if approval.approvers:
        done = ", ".join(f"<@{a}>" for a in approval.approvers)
        so_far = f" Approved so far by {done} ({len(approval.approvers)} of {need})."
    plural = "approval" if need == 1 else "approvals"
    return [
        *_head(approval),
        _context(
            f":lock: Needs {need} {plural} from {approvers_text(approvals)}.{so_far} "
            f"Expires {slack_date(approval.expires_at)} if nobody approves."
        ),
        buttons(approval),
    ]


def decided_blocks(approval: records.ApprovalRecord, status: str) -> list[Block]:
    """The request after a decision: the same plan, a status line, and no buttons."""
    return [*_head(approval), _context(status)]


def approved_status(actor: str) -> str:
    # Not an outcome emoji: the run's own outcome (:white_check_mark:, :x: …) comes last.
    return f":ballot_box_with_check: Approved by <@{actor}>; running…"


def cancelled_status(actor: str) -> str:
    return f":no_entry_sign: Cancelled by <@{actor}>. Nothing was run."


def expired_status(approval: records.ApprovalRecord) -> str:
    return (
        f":hourglass: Expired {slack_date(approval.expires_at)} without approval. Nothing was run."
    )


def refusal_text(reason: str, approval: records.ApprovalRecord | None) -> str:
    """The ephemeral answer to a refused click, by reason code."""
    decided_by = f" by <@{approval.decided_by}>" if approval and approval.decided_by else ""
    texts = {
        "not_found": "This approval request does not exist (any more).",
        "expired": "This request has expired; nothing was run. Ask for it again.",
        "not_approver": "You are not one of the configured approvers for this command.",
        "self_approval": "You cannot approve your own request; another approver has to.",
        "not_allowed_to_cancel": "Only the requester or an approver can cancel this request.",
        "already_voted": "Your approval is already counted; another approver is still needed.",
        "approved": f"This request was already approved{decided_by}.",
        "executing": f"This request was already approved{decided_by} and is running.",
        "cancelled": f"This request was cancelled{decided_by}; nothing was run.",
    }
    return ":no_entry: " + texts.get(reason, "This request cannot be decided any more.")
