"""The decision on one click of Approve / Cancel, and the expiry of requests.

* `handle_action` — for a click on `myctl_approve` / `myctl_cancel`. Refusals answer the clicker
  ephemerally through `respond` and are audited. When the click completes the approval and this
  replica claimed the execution, the outcome says EXECUTE with the message's channel and ts,
  and the caller (clicks.py) turns that same message into the run's progress message.
* `expire` — periodically (sweeper.py) and on a late click: expired requests get their message
  updated and their buttons removed, by exactly one replica.

The messages themselves are built in bot/rendering/approvals.py.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from bot.rendering import approvals as texts
from bot.rendering import waves
from bot.runs import delivery
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


def handle_action(
    slack: delivery.Slack,
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
        expire(slack, store, now)
        return _refuse(store, respond, action_id, approval_id, actor, approval, "expired")
    approver = may_approve(approval_settings, actor, actor_groups)
    kind = texts.kind(approval)

    if action_id == texts.CANCEL_ACTIONS.get(kind):
        if not (approver or actor == approval.user):
            reason = "not_allowed_to_cancel"
            return _refuse(store, respond, action_id, approval_id, actor, approval, reason)
        outcome = store.decide(approval_id, decision="cancel", actor=actor, now=now)
        if not outcome.won:
            return _lost(slack, store, respond, action_id, actor, outcome, now)
        final = outcome.approval or approval
        _audit(store, "approval.cancelled", actor, final, {})
        _update(slack, final, texts.cancelled_status(actor))
        return ActionOutcome(OutcomeKind.CANCELLED, final, final.message_channel, final.message_ts)

    if action_id != texts.APPROVE_ACTIONS[kind]:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "unknown_action")
    if not approver:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "not_approver")
    if actor == approval.user and not approval_settings.allow_self_approval:
        return _refuse(store, respond, action_id, approval_id, actor, approval, "self_approval")
    required = max(approval_settings.required, 1)
    outcome = store.decide(approval_id, decision="approve", actor=actor, now=now, required=required)
    current = outcome.approval or approval
    if outcome.status is records.DecisionStatus.RECORDED:
        _audit(store, "approval.vote", actor, current, {"votes": outcome.votes, "of": required})
        _update_pending(slack, current, approval_settings)
        respond(
            text=texts.vote_counted(outcome.votes, required),
            response_type="ephemeral",
            replace_original=False,
        )
        return ActionOutcome(OutcomeKind.WAITING, current)
    if outcome.status is records.DecisionStatus.ALREADY_VOTED:
        return _refuse(store, respond, action_id, approval_id, actor, current, "already_voted")
    if outcome.status is not records.DecisionStatus.APPROVED:
        return _lost(slack, store, respond, action_id, actor, outcome, now)
    _audit(store, "approval.approved", actor, current, {"approvers": list(current.approvers)})
    if not store.claim_execution(approval_id, now=now):
        # Cannot happen while only the decider claims; never run twice if it somehow does.
        log.warning("approval %s approved but already claimed", approval_id)
        return ActionOutcome(OutcomeKind.REFUSED, current, reason="executing")
    approved = (
        waves.rollback_approved(actor) if kind == "rollback" else texts.approved_status(actor)
    )
    _update(slack, current, approved)
    return ActionOutcome(OutcomeKind.EXECUTE, current, current.message_channel, current.message_ts)


def expire(
    slack: delivery.Slack, store: store_mod.StateStore, now: dt.datetime
) -> list[records.ApprovalRecord]:
    """Expire due requests; only the ones this call expired get their message updated."""
    expired = store.expire_due(now)
    for approval in expired:
        _audit(store, "approval.expired", "system", approval, {})
        _update(slack, approval, texts.expired_status(approval))
    return expired


# --------------------------------------------------------------------------- helpers


def _lost(
    slack: delivery.Slack,
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
        expire(slack, store, now)
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
        text=texts.refusal_text(reason, approval),
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
            "requester": approval.user,
            **extra,
        },
    )


def _update(slack: delivery.Slack, approval: records.ApprovalRecord, status: str) -> None:
    if waves.is_canary(approval):
        return  # the paused run owns its message and shows the decision (bot/approvals/canary.py)
    # The decision is already stored; a message that cannot be updated must not undo it.
    slack.update_quietly(
        approval.message_channel, approval.message_ts, texts.decided(approval, status)
    )


def _update_pending(
    slack: delivery.Slack, approval: records.ApprovalRecord, approvals: settings.ApprovalSettings
) -> None:
    if waves.is_canary(approval):
        return  # as in _update: the votes so far show once the run goes on
    slack.update_quietly(
        approval.message_channel, approval.message_ts, texts.request(approval, approvals)
    )
