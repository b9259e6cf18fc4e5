"""Continue / Stop after a good canary: the engine's `continue_after_canary` gate, from Slack.

With `slack.approvals.canary`, a run with `--canary N` that passed its canary stops at the gate:
an approval request (kind "canary", bot/rendering/waves.py) is stored for the run's own message,
the progress message shows the canary's verdicts with Continue / Stop, and the gate waits for
the decision that whichever replica took the click recorded in the state store (decision.py;
Continue is an approval, Stop a cancel, which the requester may press too). The wait is bounded
by the request's expiry: no decision in time expires it and stops the run. Only the run updates
its message (decision.py leaves canary requests' messages alone), so the last word is the run's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from bot import commandline
from bot import services as services_mod
from bot.approvals import decision
from bot.approvals import request as request_mod
from bot.rendering import approvals as texts
from bot.rendering import waves
from bot.runs import delivery, progress, run
from commands.engine import context
from commands.state import records
from commands.values import errors, events, restarts, settings

log = logging.getLogger(__name__)

# How often the paused run reads its request back from the store: a click on another replica
# is seen within this, and the store sees one small read per second per paused run.
POLL_SECONDS = 0.5
# Past the expiry, how long the store may take to agree (a sweep in flight on another replica).
EXPIRY_GRACE_SECONDS = 30.0

# The pauses waiting now in this process, so that stopping the bot ends their waits at once.
_waiting: set[Pause] = set()
_waiting_lock = threading.Lock()


def stop_waiting() -> int:
    """End every wait of this process (the bot is stopping): each paused run stops after its
    canary, as if its request had expired. Returns how many were waiting."""
    with _waiting_lock:
        paused = list(_waiting)
    for pause in paused:
        pause.stop()
    return len(paused)


def pause_for(
    services: services_mod.Services,
    inv: commandline.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
) -> Pause | None:
    """The pause for `inv` run in `talk`, when configuration asks for one (never a dry run)."""
    if not (config.slack.approvals.canary and inv.restart.canary) or inv.options.dry_run:
        return None
    return Pause(services, config.slack.approvals, inv, talk)


def engine_job(
    services: services_mod.Services,
    inv: commandline.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
    *,
    user: str,
    source: str = "slack",
) -> run.Job:
    """The engine job of a Slack run of `inv` in `talk`, as `user`: this bot's engines
    and store, and the pause after a good canary when configuration asks for one. A command
    and an approved request (bot/approvals/clicks.py) run through this one job."""
    return run.engine_job(
        inv,
        config,
        user=user,
        engines=services.engines,
        source=source,
        history=services.store,
        canary=pause_for(services, inv, config, talk),
    )


class Pause:
    """One run's pause (run.CanaryPause): at most one request, asked once."""

    def __init__(
        self,
        services: services_mod.Services,
        approvals: settings.ApprovalSettings,
        inv: commandline.Invocation,
        talk: delivery.Delivery,
    ) -> None:
        self._services = services
        self._approvals = approvals
        self._inv = inv
        self._talk = talk
        self._said: tuple[str, ...] = ()
        self._stop = threading.Event()  # ends a wait early: the bot is stopping

    def notes(self) -> tuple[str, ...]:
        return self._said

    def stop(self) -> None:
        self._stop.set()

    def gate(self, report: events.Reporter) -> context.CanaryGate:
        live = report if isinstance(report, progress.SlackProgress) else None

        def ask(canary: tuple[restarts.TargetOutcome, ...]) -> bool:
            try:
                go_on = self._ask(live, canary)
            except errors.MyctlError as exc:
                self._said = (waves.pause_unavailable(str(exc)),)
                raise
            return go_on

        return ask

    def _ask(
        self, live: progress.SlackProgress | None, canary: tuple[restarts.TargetOutcome, ...]
    ) -> bool:
        talk, approvals = self._talk, self._approvals
        if live is None or not (talk.updatable and talk.conversation and talk.ts):
            raise errors.MyctlError("this run has no message that can carry the buttons")
        if not (approvals.approver_users or approvals.approver_usergroups):
            raise errors.ConfigError("no approvers in slack.approvals.approvers")
        store, now = self._services.store, self._services.clock.now()
        request = store.create_approval(
            records.NewApproval(
                command=waves.CANARY_REQUEST,
                argv=list(self._inv.argv),
                user=talk.user,
                channel=talk.channel,
                expires_at=now + dt.timedelta(seconds=approvals.expiry_seconds),
                plan_text=waves.verdicts_text(canary),
            )
        )
        store.set_approval_message(request.id, talk.conversation, talk.ts)
        request_mod.audit_requested(
            store, request, actor=talk.user, channel=talk.channel, message_ts=talk.ts
        )
        live.pause(
            waves.Pause(
                request.id,
                request.plan_text,
                None,
                texts.approvers_text(approvals),
                request.expires_at,
            )
        )
        with _waiting_lock:
            _waiting.add(self)
        try:
            decided = self._wait(request)
        finally:
            with _waiting_lock:
                _waiting.discard(self)
            live.pause(None)
        go_on = decided.state in ("approved", "executing")
        if go_on:
            self._said = (waves.continued(decided.decided_by or "?"),)
        elif decided.state == "cancelled":
            self._said = (waves.stopped(decided.decided_by or "?"),)
        elif self._stop.is_set():
            self._said = (waves.pause_unavailable("the bot is stopping"),)
        else:
            self._said = (waves.pause_expired(decided.expires_at),)
        return go_on

    def _wait(self, request: records.ApprovalRecord) -> records.ApprovalRecord:
        """The request once decided or expired; never longer than its expiry (and a grace)."""
        services = self._services
        clock = services.clock
        deadline = clock.monotonic() + self._approvals.expiry_seconds + EXPIRY_GRACE_SECONDS
        current = request
        while True:
            found = services.store.get_approval(request.id)
            current = found or current
            if found is None or current.state != "pending":
                return current
            if clock.now() >= current.expires_at:
                # Expire it here rather than wait for a sweep; atomic, so a click or another
                # replica's sweep that got there first wins and is read back below.
                decision.expire(services.slack, services.store, clock.now())
                again = services.store.get_approval(request.id)
                if again is not None and again.state != "pending":
                    return again
            if clock.monotonic() >= deadline:
                log.warning("canary request %s still pending past its expiry", request.id)
                return current
            if self._stop.wait(POLL_SECONDS):
                return current
