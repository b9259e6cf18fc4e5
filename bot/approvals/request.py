"""The approval gate: a command that needs approval posts its plan with buttons instead of running.

`request_approval` gathers the plan (commands/engine/plans.py, in an engine process: scope, the
current cache's age and size, how many workloads the scan will cover; nothing is written);
`post_request` stores the request and posts it with Approve (primary, confirm dialog) and Cancel
(danger) buttons whose value is only the request's opaque id: everything else lives in the
state store. The click side is clicks.py.
"""

from __future__ import annotations

import datetime as dt
import logging

from slack_sdk.errors import SlackApiError

from bot import commandline
from bot import services as services_mod
from bot.rendering import approvals as texts
from bot.rendering import outcomes
from bot.runs import delivery
from commands.engine import plans as engine_plans
from commands.state import records
from commands.state import store as store_mod
from commands.values import errors, plans, settings

log = logging.getLogger(__name__)


def needs_approval(inv: commandline.Invocation, approvals: settings.ApprovalSettings) -> bool:
    """Commands configured as needing approval, except dry runs (they change nothing)."""
    return inv.command in approvals.commands and not inv.options.dry_run


def request_approval(
    services: services_mod.Services,
    inv: commandline.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
) -> int:
    """Post the request for `inv` (by talk.user in talk.channel); return its exit code:
    0 posted, 2 when nobody could ever approve it, 1 when it could not be posted."""
    approval_settings = config.slack.approvals
    if not (approval_settings.approver_users or approval_settings.approver_usergroups):
        talk.ephemeral(outcomes.no_approvers(inv.command))
        return errors.EXIT_USAGE
    try:
        plan = services.engines.read(engine_plans.gather, config, inv.command)
    except errors.MyctlError as exc:
        plan = plans.Plan(
            config.scope.describe(),
            f"{config.cache.namespace}/{config.cache.name}",
            unknown=str(exc),
        )
    try:
        post_request(
            services.slack,
            services.store,
            approval_settings,
            invocation=inv,
            requester=talk.user,
            channel=talk.channel,
            plan_text=texts.plan_text(plan),
            now=services.clock.now(),
        )
    except SlackApiError as exc:
        # The stored request simply expires unseen.
        log.warning("could not post the approval request: %s", delivery.error_code(exc))
        talk.ephemeral(outcomes.approval_not_posted(inv.command))
        return errors.EXIT_FAILED
    return errors.EXIT_OK


def post_request(
    slack: delivery.Slack,
    store: store_mod.StateStore,
    approval_settings: settings.ApprovalSettings,
    *,
    invocation: commandline.Invocation,
    requester: str,
    channel: str,
    plan_text: str,
    now: dt.datetime,
) -> records.ApprovalRecord:
    """Store a pending request and post it in `channel` only (a request nobody else sees could
    not be approved). Slack errors propagate: the stored request then expires unseen."""
    approval = store.create_approval(
        records.NewApproval(
            command=invocation.command,
            argv=list(invocation.argv) or [invocation.command],
            user=requester,
            channel=channel,
            expires_at=now + dt.timedelta(seconds=approval_settings.expiry_seconds),
            plan_text=plan_text,
        )
    )
    posted_channel, ts = slack.post(channel, texts.request(approval, approval_settings))
    store.set_approval_message(approval.id, posted_channel, ts)
    audit_requested(store, approval, actor=requester, channel=channel, message_ts=ts)
    updated = store.get_approval(approval.id)
    assert updated is not None
    return updated


def audit_requested(
    store: store_mod.StateStore,
    approval: records.ApprovalRecord,
    *,
    actor: str,
    channel: str,
    message_ts: str | None,
) -> None:
    """The audit record of a request posted for a decision (a command's plan, a paused canary,
    a Roll back button): one shape for all three."""
    store.record_event(
        "approval.requested",
        actor=actor,
        channel=channel,
        details={
            "approval_id": approval.id,
            "command": approval.command,
            "argv": list(approval.argv),
            "expires_at": approval.expires_at.isoformat(),
            "message_ts": message_ts,
        },
    )
