"""What approval requests look like in Slack: the plan, the request message and its buttons, its
status lines after a decision, and the ephemeral answers to clicks. Plain data, no I/O.

The flow that posts and updates these messages is bot/approvals/.
"""

from __future__ import annotations

import re

from bot.rendering import blocks, waves
from bot.rendering.blocks import Block, Rendered
from commands.state import records
from commands.values import durations, plans, settings

ACTION_APPROVE = "myctl_approve"
ACTION_CANCEL = "myctl_cancel"
ACTIONS_BLOCK_ID = "myctl_approval_actions"
# Per kind of request (bot/rendering/waves.py), the button that approves it and the one that
# cancels it: a click on any other action of a request is refused.
APPROVE_ACTIONS = {
    "": ACTION_APPROVE,
    "canary": waves.ACTION_CONTINUE,
    "rollback": waves.ACTION_ROLLBACK,
}
CANCEL_ACTIONS = {"": ACTION_CANCEL, "canary": waves.ACTION_STOP}
# What the app listens to: exactly the buttons above.
ACTION_PATTERN = re.compile(
    "^("
    + "|".join(map(re.escape, sorted({*APPROVE_ACTIONS.values(), *CANCEL_ACTIONS.values()})))
    + ")$"
)


def kind(approval: records.ApprovalRecord) -> str:
    """ "canary" (a paused canary), "rollback" (a Roll back button) or "" (a command's request)."""
    if waves.is_canary(approval):
        return "canary"
    if waves.is_rollback(approval):
        return "rollback"
    return ""


# --------------------------------------------------------------------------- the plan


def plan_text(plan: plans.Plan) -> str:
    lines = [f"*Scope:* {plan.scope}"]
    where = f"`{plan.cache}`"
    result = plan.check
    if result is None:
        lines.append(f"*Cache:* cannot tell ({plan.unknown})")
        return "\n".join(lines)
    stats = result.stats
    if result.unknown:
        lines.append(f"*Cache:* {where}: cannot tell ({result.reason})")
    elif stats.built_at is None:
        lines.append(f"*Cache:* {where}: {result.reason}")
    else:
        age = durations.format_seconds(stats.age_seconds) if stats.age_seconds is not None else "?"
        verdict = "valid" if result.valid else f"needs rebuild: {result.reason}"
        lines.append(
            f"*Cache:* {where}, {age} old, {blocks.size(stats.size_bytes)}, {stats.images} "
            f"images, {stats.workloads} workloads ({verdict})"
        )
    if plan.scanned is not None:
        lines.append(f"*Scan:* {plan.scanned} workloads in scope")
    elif plan.scan_error:
        lines.append(f"*Scan:* cannot count the workloads in scope ({plan.scan_error})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the request


def command_text(approval: records.ApprovalRecord) -> str:
    return blocks.command_line(approval.argv, approval.command)


def approvers_text(approvals: settings.ApprovalSettings) -> str:
    names = [f"<@{u}>" for u in approvals.approver_users]
    names += [f"<!subteam^{g}>" for g in approvals.approver_usergroups]
    return ", ".join(names) if names else "nobody (no approvers configured)"


def _head(approval: records.ApprovalRecord) -> list[Block]:
    command = blocks.fit(blocks.escape(command_text(approval)), 2000)
    return [
        blocks.header(f"Approval needed: {approval.command}"),
        blocks.section(f"{blocks.who(approval.user)} asked to run `{command}`"),
        blocks.section(blocks.escape(approval.plan_text)),
    ]


def request_text(approval: records.ApprovalRecord) -> str:
    """Notification fallback text of the request message."""
    return (
        f"Approval needed: {blocks.who(approval.user)} asked to run "
        f"`{blocks.escape(command_text(approval))}` (expires {blocks.date(approval.expires_at)})"
    )


def buttons(approval: records.ApprovalRecord) -> Block:
    confirm_text = (
        f"This runs `{blocks.escape(command_text(approval))}` now, "
        f"as requested by {blocks.who(approval.user)}."
    )
    confirm = (f"Approve {approval.command}?", confirm_text, "Approve")
    return blocks.actions(
        ACTIONS_BLOCK_ID,
        blocks.button(ACTION_APPROVE, "Approve", approval.id, style="primary", confirm=confirm),
        blocks.button(ACTION_CANCEL, "Cancel", approval.id, style="danger"),
    )


def request(approval: records.ApprovalRecord, approvals: settings.ApprovalSettings) -> Rendered:
    """The pending request: plan, who may approve, when it expires, the two buttons."""
    need = max(approvals.required, 1)
    if waves.is_rollback(approval):
        done = ", ".join(f"<@{a}>" for a in approval.approvers)
        count = f"{len(approval.approvers)} of {need}"
        votes = f":ballot_box_with_check: Roll back approved so far by {done} ({count})."
        return waves.rollback_pending(approval, votes)
    so_far = ""
    if approval.approvers:
        done = ", ".join(f"<@{a}>" for a in approval.approvers)
        so_far = f" Approved so far by {done} ({len(approval.approvers)} of {need})."
    plural = "approval" if need == 1 else "approvals"
    lock = (
        f":lock: Needs {need} {plural} from {approvers_text(approvals)}.{so_far} "
        f"Expires {blocks.date(approval.expires_at)} if nobody approves."
    )
    shown = [*_head(approval), blocks.context(lock), buttons(approval)]
    return Rendered(request_text(approval), shown)


def decided(approval: records.ApprovalRecord, status: str) -> Rendered:
    """The request after a decision: the same plan, a status line, and no buttons."""
    if waves.is_rollback(approval):
        return waves.rollback_decided(approval, status)
    text = f"{status} `{blocks.escape(command_text(approval))}`"
    return Rendered(text, [*_head(approval), blocks.context(status)])


def approved_status(actor: str) -> str:
    # Not an outcome emoji: the run's own outcome (:white_check_mark:, :x: …) comes last.
    return f":ballot_box_with_check: Approved by <@{actor}>; running…"


def cancelled_status(actor: str) -> str:
    return f":no_entry_sign: Cancelled by <@{actor}>. Nothing was run."


def expired_status(approval: records.ApprovalRecord) -> str:
    if waves.is_rollback(approval):
        return waves.rollback_expired(approval)
    return (
        f":hourglass: Expired {blocks.date(approval.expires_at)} without approval. Nothing was run."
    )


def vote_counted(votes: int, required: int) -> str:
    return f":ballot_box_with_check: Your approval is counted ({votes} of {required})."


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
        # "executing" stays once claimed, whether the run is going, finished or was cut short
        # by a bot restart (its message says which): claim only that it will not run again.
        "executing": f"This request was already approved{decided_by}; it is not run again.",
        "cancelled": f"This request was cancelled{decided_by}; nothing was run.",
    }
    return ":no_entry: " + texts.get(reason, "This request cannot be decided any more.")
