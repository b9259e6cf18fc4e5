"""Approval requests in Slack: post the plan with buttons, decide on clicks, expire.

Three calls for the app (bot/app.py wires them):

* `post_request` — instead of running a command that needs approval: stores the request and
  posts the plan with Approve (primary, confirm dialog) and Cancel (danger) buttons. The button
  value is only the request's opaque id; everything else lives in the state store.
* `handle_action` — for a click on `myctl_approve` / `myctl_cancel`. Refusals answer the clicker
  ephemerally through `respond` and are audited. When the click completes the approval and this
  replica claimed the execution, the outcome says EXECUTE with the message's channel and ts,
  and the caller turns that same message into the run's progress message.
* `expire` — periodically (and on a late click): expired requests get their message updated and
  their buttons removed, by exactly one replica.

The messages themselves (request, buttons, status lines, refusals) are built in
bot/approval_messages.py.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import approval_messages, messages
from commands.cli import invocation as invocation_mod
from commands.state import records
from commands.state import store as store_mod
from commands.values import settings

log = logging.getLogger(__name__)


class Respond(Protocol):
    """Bolt's `respond` (posts to the interaction's response_url), as far as we use it."""

    def __call__(self, *, text: str, response_type: str, replace_original: bool) -> object: ...


class OutcomeKind(enum.Enum):
    EXECUTE = "execute"  # approved, claimed by this call: run it in the request's message
    WAITING = "waiting"  # approval recorded, more approvers needed
    CANCELLED = "cancelled"
    REFUSED = "refused"  # nothing changed; the clicker was told why


@dataclass(frozen=True)
class ActionOutcome:
    kind: OutcomeKind
    approval: records.ApprovalRecord | None
    channel: str | None = None  # the request's message: becomes the progress message
    message_ts: str | None = None
    reason: str = ""  # for REFUSED: a short code (not_approver, self_approval, expired …)

    @property
    def execute(self) -> bool:
        return self.kind is OutcomeKind.EXECUTE


# --------------------------------------------------------------------------- the flow


def may_approve(
    approvals: settings.ApprovalSettings, actor: str, actor_groups: Collection[str]
) -> bool:
    if actor in approvals.approver_users:
        return True
    return any(group in approvals.approver_usergroups for group in actor_groups)


def post_request(
    client: WebClient,
    store: store_mod.StateStore,
    approval_settings: settings.ApprovalSettings,
    *,
    invocation: invocation_mod.Invocation,
    requester: str,
    channel: str,
    plan_text: str,
    now: dt.datetime,
) -> records.ApprovalRecord:
    """Store a pending request and post it. Slack errors propagate (the request then simply
    expires unseen); the caller falls back to an ephemeral answer."""
    approval = store.create_approval(
        command=invocation.command,
        argv=list(invocation.argv) or [invocation.command],
        requester=requester,
        channel=channel,
        expires_at=now + dt.timedelta(seconds=approval_settings.expiry_seconds),
        plan_text=plan_text,
    )
    reply = client.chat_postMessage(
        channel=channel,
        text=approval_messages.request_text(approval),
        blocks=approval_messages.request_blocks(approval, approval_settings),
    )
    posted_channel, ts = str(reply["channel"]), str(reply["ts"])
    store.set_approval_message(approval.id, posted_channel, ts)
    store.record_event(
        "approval.requested",
        actor=requester,
        channel=channel,
        details={
            "approval_id": approval.id,
            "command": approval.command,
            "argv": list(approval.argv),
            "expires_at": approval.expires_at.isoformat(),
            "message_ts": ts,
        },
    )
    updated = store.get_approval(approval.id)
    assert updated is not None
    return updated


def handle_action(
    client: WebClient,
    store: store_mod.StateStore,
    approval_settings: settings.ApprovalSettings,
    *,
    action_id: str,
    approval_id: str,
    actor: str,
    actor_groups: Collection[str],
    now: dt.datetime,
    respond: Respond,
) -> ActionOutcome:
    """Decide one click. Never raises for a refused click; it answers `respond` ephemerally."""
    approval = store.get_approval(approval_id)
    if approval is None:
        return _refuse(store, respond, action_id, approval_id, actor, None, "not_found")
    if approval.state != "pending":
        return _refuse(store, respond, action_id, approval_id, actor, approval, approval.state)
    if approval.expires_at <= now:
        expire(client, store, now)
        return _refuse(store, respond, action_id, approval_id, actor, approval, "expired")
    approver = may_approve(approval_settings, actor, actor_groups)

    if action_id == approval_messages.ACTION_CANCEL:
        if not (approver or actor == approval.requester):
            reason = "not_allowed_to_cancel"
            return _refuse(store, respond, action_id, approval_id, actor, approval, reason)
        outcome = store.decide(approval_id, decision="cancel", actor=actor, now=now)
        if not outcome.won:
            return _lost(client, store, respond, action_id, actor, outcome, now)
        final = outcome.approval or approval
        _audit(store, "approval.cancelled", actor, final, {})
        _update(client, final, approval_messages.cancelled_status(actor))
        return ActionOutcome(OutcomeKind.CANCELLED, final, final.message_channel, final.message_ts)

    if action_id != approval_messages.ACTION_APPROVE:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "unknown_action")
    if not approver:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "not_approver")
    if actor == approval.requester and not approval_settings.allow_self_approval:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "self_approval")
    required = max(approval_settings.required, 1)
    outcome = store.decide(approval_id, decision="approve", actor=actor, now=now, required=required)
    current = outcome.approval or approval
    if outcome.status is records.DecisionStatus.RECORDED:
        _audit(store, "approval.vote", actor, current, {"votes": outcome.votes, "of": required})
        _update_pending(client, current, approval_settings)
        respond(
            text=f":ballot_box_with_check: Your approval is counted ({outcome.votes} of "
            f"{required}).",
            response_type="ephemeral",
            replace_original=False,
        )
        return ActionOutcome(OutcomeKind.WAITING, current)
    if outcome.status is records.DecisionStatus.ALREADY_VOTED:
        return _refuse(store, respond, action_id, approval_id, actor, current, "already_voted")
    if outcome.status is not records.DecisionStatus.APPROVED:
        return _lost(client, store, respond, action_id, actor, outcome, now)
    _audit(store, "approval.approved", actor, current, {"approvers": list(current.approvers)})
    if not store.claim_execution(approval_id, now=now):
        # Cannot happen while only the decider claims; never run twice if it somehow does.
        log.warning("approval %s approved but already claimed", approval_id)
        return ActionOutcome(OutcomeKind.REFUSED, current, reason="executing")
    _update(client, current, approval_messages.approved_status(actor))
    return ActionOutcome(OutcomeKind.EXECUTE, current, current.message_channel, current.message_ts)


def expire(
    client: WebClient, store: store_mod.StateStore, now: dt.datetime
) -> list[records.ApprovalRecord]:
    """Expire due requests; only the ones this call expired get their message updated."""
    expired = store.expire_due(now)
    for approval in expired:
        _audit(store, "approval.expired", "system", approval, {})
        _update(client, approval, approval_messages.expired_status(approval))
    return expired


# --------------------------------------------------------------------------- helpers


def _lost(
    client: WebClient,
    store: store_mod.StateStore,
    respond: Respond,
    action_id: str,
    actor: str,
    outcome: records.DecisionOutcome,
    now: dt.datetime,
) -> ActionOutcome:
    """The click passed the checks but another click or replica decided first."""
    approval = outcome.approval
    if outcome.status is records.DecisionStatus.EXPIRED:
        expire(client, store, now)
        reason = "expired"
    elif approval is None:
        reason = "not_found"
    else:
        reason = approval.state
    approval_id = approval.id if approval else ""
    return _refuse(store, respond, action_id, approval_id, actor, approval, reason)


def _refuse(
    store: store_mod.StateStore,
    respond: Respond,
    action_id: str,
    approval_id: str,
    actor: str,
    approval: records.ApprovalRecord | None,
    reason: str,
) -> ActionOutcome:
    # Audit first: the trail must hold the refusal even if answering the clicker fails.
    store.record_event(
        "approval.refused",
        actor=actor,
        channel=approval.channel if approval else "",
        details={"approval_id": approval_id, "action": action_id, "reason": reason},
    )
    respond(
        text=approval_messages.refusal_text(reason, approval),
        response_type="ephemeral",
        replace_original=False,
    )
    return ActionOutcome(OutcomeKind.REFUSED, approval, reason=reason)


def _audit(
    store: store_mod.StateStore,
    kind: str,
    actor: str,
    approval: records.ApprovalRecord,
    extra: dict[str, Any],
) -> None:
    store.record_event(
        kind,
        actor=actor,
        channel=approval.channel,
        details={
            "approval_id": approval.id,
            "command": approval.command,
            "argv": list(approval.argv),
            "requester": approval.requester,
            **extra,
        },
    )


def _update(client: WebClient, approval: records.ApprovalRecord, status: str) -> None:
    blocks = approval_messages.decided_blocks(approval, status)
    _chat_update(
        client,
        approval,
        text=f"{status} `{messages.escape(approval_messages.command_text(approval))}`",
        blocks=blocks,
    )


def _update_pending(
    client: WebClient, approval: records.ApprovalRecord, approvals: settings.ApprovalSettings
) -> None:
    blocks = approval_messages.request_blocks(approval, approvals)
    _chat_update(client, approval, text=approval_messages.request_text(approval), blocks=blocks)


def _chat_update(
    client: WebClient,
    approval: records.ApprovalRecord,
    *,
    text: str,
    blocks: list[approval_messages.Block],
) -> None:
    channel, ts = approval.message_channel, approval.message_ts
    if not (channel and ts):
        return  # never posted (Slack refused the post): nothing to update
    # The decision is already stored; a message that cannot be updated must not undo it.
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning(
            "could not update approval message %s: %s", approval.id, exc.response.get("error")
        )
