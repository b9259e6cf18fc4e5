"""Approve / Cancel clicks, on the job runner (the listener only acks).

`on_click` asks decision.py to decide the click. When that decision approved the request and
this replica claimed its execution, the command runs right here through the one run pipeline
(bot/runs/run.py), in the request's own message (`Delivery.resume`: it becomes the progress
message and ends with the outcome emoji), as the requester. Any replica may take any click:
all state is in the database, and the claim is atomic there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot import commandline
from bot import services as services_mod
from bot.approvals import canary, decision
from bot.rendering import blocks, outcomes, waves
from bot.runs import run
from commands.state import records
from commands.state import store as store_mod
from commands.values import errors

log = logging.getLogger(__name__)


def on_click(
    services: services_mod.Services, body: Mapping[str, Any], respond: decision.Respond
) -> decision.ActionOutcome:
    """Decide one click; run the command when it is this click that approved it."""
    action = body["actions"][0]
    actor = str(body["user"]["id"])
    approval_settings = services.base_settings().slack.approvals
    groups = services.resolver.groups_of(actor, approval_settings.approver_usergroups)
    try:
        outcome = decision.handle_action(
            services.slack,
            services.store,
            approval_settings,
            action_id=str(action.get("action_id") or ""),
            approval_id=str(action.get("value") or ""),
            actor=actor,
            actor_groups=groups,
            now=services.clock.now(),
            respond=respond,
        )
    except store_mod.StateError as exc:  # no decision without its audit record
        log.warning("click not taken, the state store is unavailable: %s", type(exc).__name__)
        answer = outcomes.click_store_down()
        respond(text=answer.text, response_type="ephemeral", replace_original=False)
        return decision.ActionOutcome(decision.OutcomeKind.REFUSED, None, reason="store_down")
    services.metrics.approval(outcome.kind.value)
    if outcome.execute and outcome.approval is not None:
        if waves.is_canary(outcome.approval):
            pass  # the paused run reads the decision from the store and goes on (canary.py)
        elif waves.is_rollback(outcome.approval):
            _roll_back(services, outcome.approval, actor)
        else:
            _execute(services, outcome, _clicked_message(body))
    return outcome


def _clicked_message(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(channel, ts) of the message whose button was clicked: the request's own message.

    Authoritative even before the store has recorded the message's ts (a click can arrive
    between chat.postMessage answering and that write, with several replicas especially)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return (str(channel) if channel else None, str(ts) if ts else None)


def _execute(
    services: services_mod.Services,
    outcome: decision.ActionOutcome,
    clicked: tuple[str | None, str | None],
) -> None:
    approval = outcome.approval
    assert approval is not None
    clicked_channel, clicked_ts = clicked
    message_ts = outcome.message_ts or clicked_ts
    channel = (outcome.channel if outcome.message_ts else clicked_channel) or approval.channel
    talk = services.delivery(channel=channel, user=approval.user, response_url=None)
    if message_ts:
        talk.resume(channel, message_ts)  # the request's message becomes the run's
    try:
        inv = commandline.parse(approval.argv)
        config = commandline.settings_for(inv, services.environ)
    except errors.MyctlError as exc:
        # The configuration changed since the request: say so in its message.
        talk.finish(outcomes.final_error(list(approval.argv), approval.user, exc))
        services.metrics.command_finished(approval.command, exc.exit_code)
        return
    # A registry trigger's request (bot/hookruns.py) stays a hook run in the trail once approved.
    source = "hook" if approval.user.startswith(blocks.TRIGGER_USER_PREFIX) else "slack"
    job = canary.engine_job(services, inv, config, talk, user=approval.user, source=source)
    services.metrics.command_finished(inv.command, services.run(job, talk))


def _roll_back(
    services: services_mod.Services, approval: records.ApprovalRecord, actor: str
) -> None:
    """A Roll back button approved: `rollback --run RUN_ID` as the approver who pressed it, in
    a message of its own (the run's message keeps its outcome, the button now says who)."""
    talk = services.delivery(channel=approval.channel, user=actor, response_url=None)
    try:
        inv = commandline.parse(approval.argv)
        config = commandline.settings_for(inv, services.environ)
    except errors.MyctlError as exc:
        talk.start(outcomes.final_error(list(approval.argv), actor, exc))
        services.metrics.command_finished("rollback", exc.exit_code)
        return
    job = run.engine_job(
        inv,
        config,
        user=actor,
        engines=services.engines,
        history=services.store,
    )
    services.metrics.command_finished(inv.command, services.run(job, talk))
