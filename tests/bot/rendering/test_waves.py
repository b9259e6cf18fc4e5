"""Canary pauses, wave progress, Roll back buttons and rollback history as Block Kit data."""

from __future__ import annotations

import datetime as dt
import json

from bot.rendering import approvals, blocks, history, outcomes, waves
from commands.state import records
from commands.state import store as store_mod
from commands.values import clock as clocks
from commands.values import events, results, workloads
from tests.support import slack_blocks

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64


def _ref(name: str) -> workloads.WorkloadRef:
    return workloads.WorkloadRef(workloads.Kind.DEPLOYMENT, "shop", name)


def _approval(
    command: str, plan_text: str = "", argv: tuple[str, ...] = ()
) -> records.ApprovalRecord:
    return records.ApprovalRecord(
        id="opaque-id",
        command=command,
        argv=argv or ("rollback", "--run", "run-1"),
        user="U_REQ",
        channel="C_OPS",
        state="pending",
        plan_text=plan_text,
        created_at=NOW,
        expires_at=NOW + dt.timedelta(minutes=15),
        decided_by=None,
        decided_at=None,
        message_channel="C_OPS",
        message_ts="1.2",
    )


def _canary() -> results.TargetOutcome:
    return results.TargetOutcome(
        _ref("a"),
        events.Outcome.RESTARTED,
        "rollout complete, updated",
        digests_before=(V1,),
        digests_after=(V2,),
        verified=results.Verified.UPDATED,
    )


def _pause() -> waves.Pause:
    verdicts = waves.verdicts_text([_canary()])
    return waves.Pause("opaque-id", verdicts, 2, "<@U_BOSS>", NOW + dt.timedelta(minutes=15))


def _actions(shown: list[blocks.Block]) -> list[blocks.Block]:
    return [b for b in shown if b["type"] == "actions"]


def test_a_paused_canary_shows_its_verdicts_and_continue_and_stop() -> None:
    state = outcomes.Progress(
        argv=("orchestrate", "--canary", "1"), user="U_REQ", wave="wave 1/2 canary (1)"
    )
    shown = outcomes.progress(outcomes.Progress(**{**state.__dict__, "pause": _pause()})).blocks
    assert slack_blocks.validate_blocks(shown) == []
    verdicts = shown[-3]["text"]["text"]
    assert verdicts.startswith("*Canary passed* (1)")
    assert f"{_ref('a')}: updated" in verdicts
    assert "sha256:1111" in verdicts and "sha256:2222" in verdicts
    (actions,) = _actions(shown)
    continue_, stop = actions["elements"]
    assert (continue_["action_id"], continue_["style"]) == (waves.ACTION_CONTINUE, "primary")
    assert (stop["action_id"], stop["style"]) == (waves.ACTION_STOP, "danger")
    assert continue_["value"] == stop["value"] == "opaque-id"
    assert "confirm" in continue_ and "confirm" not in stop
    assert "No decision by" in shown[-2]["elements"][0]["text"]


def test_progress_names_the_wave_and_says_not_started() -> None:
    state = outcomes.Progress(
        argv=("orchestrate",),
        user="U_REQ",
        step="restart",
        total=3,
        counts=((events.Outcome.RESTARTED, 1), (events.Outcome.NOT_STARTED, 2)),
        wave="wave 2/2 not started (2)",
    )
    shown = outcomes.progress(state).blocks
    line = shown[1]["text"]["text"]
    assert line == "*restart* · wave 2/2 not started (2): 3/3 (1 restarted, 2 not started)"
    assert _actions(shown) == []


def test_the_roll_back_button_comes_last_is_danger_and_asks_to_confirm() -> None:
    final = blocks.Rendered(":white_check_mark: done", [blocks.section(":white_check_mark: done")])
    shown = waves.with_rollback(final, _approval(waves.ROLLBACK_REQUEST)).blocks
    assert slack_blocks.validate_blocks(shown) == []
    assert [b["type"] for b in shown] == ["section", "actions"]
    (button,) = shown[-1]["elements"]
    assert (button["action_id"], button["style"], button["value"]) == (
        waves.ACTION_ROLLBACK,
        "danger",
        "opaque-id",
    )
    assert button["confirm"]["title"]["text"] == "Roll back this run?"
    assert approvals.ACTION_PATTERN.match(button["action_id"])


def test_a_long_final_message_keeps_its_roll_back_button_within_the_block_limit() -> None:
    final = blocks.Rendered("x", [blocks.section(f"s{i}") for i in range(blocks.MAX_BLOCKS)])
    shown = waves.with_rollback(final, _approval(waves.ROLLBACK_REQUEST)).blocks
    assert len(shown) == blocks.MAX_BLOCKS and shown[-1]["type"] == "actions"


def test_a_decided_roll_back_shows_the_run_again_without_its_button() -> None:
    final = blocks.Rendered(":white_check_mark: done", [blocks.section(":white_check_mark: done")])
    with_button = waves.with_rollback(final, _approval(waves.ROLLBACK_REQUEST))
    stored = waves.stored_message(with_button)
    approval = _approval(waves.ROLLBACK_REQUEST, plan_text=stored)
    rendered = approvals.decided(approval, waves.rollback_approved("U_BOSS"))
    assert rendered.text == ":white_check_mark: done"
    assert [b["type"] for b in rendered.blocks] == ["section", "context"]
    assert "Roll back approved by <@U_BOSS>" in rendered.blocks[-1]["elements"][0]["text"]
    expired = approvals.decided(approval, approvals.expired_status(approval))
    assert "`rollback --run run-1` still works" in expired.blocks[-1]["elements"][0]["text"]


def test_only_the_buttons_of_a_request_kind_decide_it() -> None:
    assert approvals.kind(_approval(waves.CANARY_REQUEST)) == "canary"
    assert approvals.kind(_approval(waves.ROLLBACK_REQUEST)) == "rollback"
    assert approvals.kind(_approval("rollback")) == ""  # `/myctl rollback` needing approval
    assert approvals.APPROVE_ACTIONS["canary"] == waves.ACTION_CONTINUE
    assert "rollback" not in approvals.CANCEL_ACTIONS


def test_a_rollback_final_message_links_the_run_it_undoes() -> None:
    result = results.RollbackResult((_canary(),), waited=True, undoes="run-1")
    undone = "https://test.slack.com/archives/C_OPS/p1"
    run = records.RunRecord(
        id="run-1",
        command="orchestrate",
        argv=(),
        user="U",
        channel="C",
        state="finished",
        source="slack",
        dry_run=False,
        started_at=NOW,
        finished_at=NOW,
        exit_code=0,
        summary="",
        message_ts="1",
        permalink=undone,
    )
    shown = outcomes.final(("rollback",), "U_BOSS", result, [waves.undoes(run, "run-1")]).blocks
    assert shown[2] == blocks.context(f":leftwards_arrow_with_hook: undoes run <{undone}|run-1>")
    assert waves.undoes(None, "run-1").endswith("`run-1`")


def _finished(store: store_mod.StateStore, command: str, details: dict[str, object]) -> str:
    run_id = store.start_run(
        records.NewRun(
            command=command, argv=[command], user="U1", channel="C1", source="slack", dry_run=False
        )
    )
    store.finish_run(run_id, exit_code=0, summary="ok", details=json.loads(json.dumps(details)))
    return run_id


def test_history_shows_a_rollback_next_to_the_run_it_undoes_and_what_was_verified(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    restarted = {"outcome": "restarted", "verified": "updated"}
    original = _finished(store, "orchestrate", {"restart": {"targets": [restarted]}})
    clock.advance(60)
    unverified = {"targets": [{"outcome": "restarted", "verified": "unknown"}], "undoes": original}
    rollback = _finished(store, "rollback", unverified)
    lines = history.history(store.history(10)).blocks[1]["text"]["text"].splitlines()
    rollback_line, original_line = lines
    assert f":leftwards_arrow_with_hook: undoes `{original}`" in rollback_line
    assert "not verified (unknown)" in rollback_line
    assert f":leftwards_arrow_with_hook: rolled back by `{rollback}`" in original_line
    assert ":heavy_check_mark: verified" in original_line and f"`{original}`" in original_line
