"""The Roll back button on the final message of a run that restarted something.

`RollbackOffer` is the run pipeline's `finishing` step (bot/runs/run.py, wired in bot/app.py):
once the trail has recorded a run that restarted at least one target (the rule `myctl rollback`
uses to pick its default run, commands/state/rollbacks.py), it stores an approval request for
`rollback --run RUN_ID` (kind "rollback", bot/rendering/waves.py) and adds the button, whose
value is that request's opaque id. A click is an approval (decision.py: approvers only, the
run's own requester only with self-approval, expiry, claimed once); clicks.py runs it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.approvals import request as request_mod
from bot.rendering import waves
from bot.rendering.blocks import Rendered
from bot.runs import delivery
from commands.state import records, rollbacks
from commands.state import store as store_mod
from commands.values import clock as clock_mod
from commands.values import settings

log = logging.getLogger(__name__)


class RollbackOffer:
    def __init__(
        self,
        store: store_mod.StateStore,
        approvals: Callable[[], settings.ApprovalSettings],
        clock: clock_mod.Clock,
    ) -> None:
        self._store = store
        self._approvals = approvals
        self._clock = clock

    def __call__(self, run_id: str, talk: delivery.Delivery, final: Rendered) -> Rendered:
        run = self._store.get_run(run_id)
        if run is None or not rollbacks.restarted_something(run):
            return final
        approvals = self._approvals()
        if not (approvals.approver_users or approvals.approver_usergroups):
            return final  # nobody could press it: no button rather than one that always refuses
        request = self._store.create_approval(
            records.NewApproval(
                command=waves.ROLLBACK_REQUEST,
                argv=["rollback", "--run", run.id],
                user=run.user,
                channel=run.channel or talk.channel,
                expires_at=self._clock.now() + dt.timedelta(seconds=approvals.expiry_seconds),
                plan_text=waves.stored_message(final),
            )
        )
        if talk.conversation and talk.ts:
            self._store.set_approval_message(request.id, talk.conversation, talk.ts)
        request_mod.audit_requested(
            self._store, request, actor=run.user, channel=request.channel, message_ts=talk.ts
        )
        return waves.with_rollback(final, request)
