"""Clicks on Continue / Stop and Roll back: decided like approvals, by their own buttons only,
and a paused run's message is left to the run (bot/approvals/decision.py, canary.py)."""

from __future__ import annotations

import datetime as dt

from bot.rendering import approvals as texts
from bot.rendering import blocks, waves
from commands.state import records
from tests.bot.approvals.test_decision import CHANNEL, Flow, flow

__all__ = ["flow"]  # the fixture, re-exported for pytest


def _stored(flow: Flow, command: str, plan_text: str = "verdicts") -> records.ApprovalRecord:
    approval = flow.store.create_approval(
        records.NewApproval(
            command=command,
            argv=["rollback", "--run", "run-1"],
            user="U_REQ",
            channel=CHANNEL,
            expires_at=flow.clock.now() + dt.timedelta(minutes=15),
            plan_text=plan_text,
        )
    )
    channel, ts = flow.slack.post(CHANNEL, blocks.plain("the run's own message"))
    flow.store.set_approval_message(approval.id, channel, ts)
    found = flow.store.get_approval(approval.id)
    assert found is not None
    return found


def _updates(flow: Flow) -> int:
    return len(flow.emulator.calls_to("chat.update"))


def test_continue_by_an_approver_decides_a_pause_without_touching_the_runs_message(
    flow: Flow,
) -> None:
    pause = _stored(flow, waves.CANARY_REQUEST)
    outcome = flow.click(pause.id, "U_BOSS", action=waves.ACTION_CONTINUE)
    assert outcome.execute and outcome.approval is not None
    assert flow.store.get_approval(pause.id).state == "executing"  # type: ignore[union-attr]
    assert _updates(flow) == 0
    again = flow.click(pause.id, "U_BOSS", action=waves.ACTION_CONTINUE)
    assert (again.kind.value, again.reason) == ("refused", "executing")


def test_stop_by_the_requester_stops_a_pause_but_continue_by_the_requester_is_refused(
    flow: Flow,
) -> None:
    pause = _stored(flow, waves.CANARY_REQUEST)
    refused = flow.click(pause.id, "U_REQ", action=waves.ACTION_CONTINUE)
    assert refused.reason == "not_approver"
    stopped = flow.click(pause.id, "U_REQ", action=waves.ACTION_STOP)
    assert stopped.kind.value == "cancelled"
    assert flow.store.get_approval(pause.id).decided_by == "U_REQ"  # type: ignore[union-attr]
    assert _updates(flow) == 0


def test_a_button_of_another_kind_cannot_decide_a_request(flow: Flow) -> None:
    pause = _stored(flow, waves.CANARY_REQUEST)
    offer = _stored(flow, waves.ROLLBACK_REQUEST)
    assert flow.click(pause.id, "U_BOSS", action=texts.ACTION_APPROVE).reason == "unknown_action"
    assert flow.click(offer.id, "U_BOSS", action=texts.ACTION_CANCEL).reason == "unknown_action"
    assert flow.click(offer.id, "U_BOSS", action=waves.ACTION_CONTINUE).reason == "unknown_action"
    assert {a.state for a in flow.store.pending_approvals()} == {"pending"}
    assert len(flow.store.pending_approvals()) == 2


def test_an_expired_roll_back_shows_the_run_again_and_an_expired_pause_is_left_to_the_run(
    flow: Flow,
) -> None:
    final = blocks.plain(":white_check_mark: rolled out 2 of 2 workloads")
    offer = _stored(flow, waves.ROLLBACK_REQUEST, waves.stored_message(final))
    _stored(flow, waves.CANARY_REQUEST)
    flow.clock.advance(16 * 60)
    expired = flow.click(offer.id, "U_BOSS", action=waves.ACTION_ROLLBACK)
    assert expired.reason == "expired"
    assert _updates(flow) == 1  # the Roll back message only
    message = flow.message(offer.id)
    assert message.text == final.text
    assert [b["type"] for b in message.blocks] == ["section", "context"]
    assert "still works" in message.all_text()
