"""Approve / Cancel clicks on approval requests, and the sweep that expires requests.

`on_click` runs on the job runner (the listener only acks): it asks bot/approvals.py to decide
the click. When that decision approved the request and this replica claimed its execution, the
command runs right here, in the request's own message (which becomes its progress message and
ends with the outcome emoji), as the requester. Any replica may take any click: all state is in
the database, and the claim is atomic there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from bot import approvals, delivery, messages, slash
from bot import services as services_mod
from commands.cli import invocation, parser
from commands.values import errors

log = logging.getLogger(__name__)

ACTION_PATTERN = r"^myctl_(approve|cancel)$"


def on_click(
    services: services_mod.Services, body: Mapping[str, Any], respond: approvals.Respond
) -> approvals.ActionOutcome | None:
    """Decide one click; run the command when it is this click that approved it."""
    store = services.store
    if store is None:
        respond(
            text=messages.no_state_store().text, response_type="ephemeral", replace_original=False
        )
        return None
    action = body["actions"][0]
    actor = str(body["user"]["id"])
    config = services.base_settings()
    approval_settings = config.slack.approvals
    groups = services.resolver.groups_of(actor, approval_settings.approver_usergroups)
    outcome = approvals.handle_action(
        services.client,
        store,
        approval_settings,
        action_id=str(action.get("action_id") or ""),
        approval_id=str(action.get("value") or ""),
        actor=actor,
        actor_groups=groups,
        now=services.clock.now(),
        respond=respond,
    )
    if outcome.execute and outcome.approval is not None:
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
    outcome: approvals.ActionOutcome,
    clicked: tuple[str | None, str | None],
) -> None:
    approval = outcome.approval
    assert approval is not None
    clicked_channel, clicked_ts = clicked
    message_ts = outcome.message_ts or clicked_ts
    talk = delivery.Delivery(
        services.client,
        services.metrics,
        channel=(outcome.channel if outcome.message_ts else clicked_channel) or approval.channel,
        user=approval.requester,
        response_url=None,
    )
    if message_ts:
        # The request's message becomes the run's progress message.
        talk.ts = message_ts
        talk.target = delivery.Target.CHANNEL
    try:
        inv = parser.parse(list(approval.argv))
        config = invocation.settings_for(inv, services.environ)
    except errors.MyctlError as exc:
        # The configuration changed since the request: say so in its message.
        talk.finish(messages.final_error(list(approval.argv), approval.requester, exc))
        services.metrics.command_finished(approval.command, exc.exit_code)
        return
    code = slash.execute_run(services, inv, config, talk, approved=True)
    services.metrics.command_finished(inv.command, code)


class Sweeper:
    """Expires due approval requests every `interval` seconds, in every replica; expiry is
    atomic in the database, so each request's message is updated by exactly one of them."""

    def __init__(self, services: services_mod.Services, interval: float) -> None:
        self._services = services
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="myctl-expiry", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sweep()

    def sweep(self) -> int:
        store = self._services.store
        if store is None:
            return 0
        try:
            return len(approvals.expire(self._services.client, store, self._services.clock.now()))
        except Exception as exc:
            # A database or Slack hiccup: the next sweep tries again.
            log.warning("approval expiry sweep failed: %s", type(exc).__name__)
            return 0

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
