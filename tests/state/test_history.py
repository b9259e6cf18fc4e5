"""bot/audit: `/myctl history [N]` as Block Kit data, and refusal auditing."""

from __future__ import annotations

import pytest

from bot import audit
from commands.state import store as store_mod
from commands.values import clock as clocks
from commands.values import errors
from tests.support import slack_blocks


def _run(store: store_mod.StateStore, exit_code: int | None, summary: str = "ok") -> str:
    run_id = store.start_run(
        command="restart",
        argv=["restart", "deploy/web"],
        user="U1",
        channel="C1",
        source="slack",
        dry_run=False,
        permalink="https://test.slack.com/archives/C1/p1",
    )
    if exit_code is not None:
        store.finish_run(run_id, exit_code=exit_code, summary=summary)
    return run_id


def test_history_shows_when_who_command_outcome_and_summary(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    for code in (0, 1, 2, 3):
        _run(store, code, summary=f"summary {code}")
        clock.advance(60)
    _run(store, None)
    store.mark_interrupted()
    blocks = audit.history_blocks(store.history(10))
    text = str(blocks)
    assert blocks[0]["type"] == "header"
    lines = blocks[1]["text"]["text"].splitlines()
    assert lines[0].startswith(audit.INTERRUPTED_EMOJI)
    assert [line.split()[0] for line in lines[1:]] == [
        ":large_orange_circle:",
        ":warning:",
        ":x:",
        ":white_check_mark:",
    ]
    assert "<@U1>" in text and "`restart deploy/web`" in text and "summary 3" in text
    assert "<!date^" in text and "|message>" in text


def test_history_of_many_long_runs_stays_within_block_kit_limits(
    store: store_mod.StateStore,
) -> None:
    for _ in range(audit.MAX_HISTORY):
        _run(store, 0, summary="<x>" * 400)
    blocks = audit.history_blocks(store.history(audit.MAX_HISTORY))
    assert slack_blocks.validate_blocks(blocks) == []
    assert "<x>" not in str(blocks)


def test_empty_history_says_so() -> None:
    assert "No runs" in str(audit.history_blocks([]))


@pytest.mark.parametrize(("args", "limit"), [([], 10), (["3"], 3), (["100"], 100)])
def test_history_limit_is_parsed(args: list[str], limit: int) -> None:
    assert audit.parse_limit(args) == limit


@pytest.mark.parametrize("args", [["0"], ["101"], ["x"], ["1", "2"]])
def test_bad_history_limit_is_a_usage_error(args: list[str]) -> None:
    with pytest.raises(errors.UsageError) as caught:
        audit.parse_limit(args)
    assert caught.value.exit_code == 2


def test_authorization_refusal_is_audited(store: store_mod.StateStore) -> None:
    audit.record_refusal(
        store, command="restart", argv=["restart", "x"], user="U9", channel="C1", reason="nope"
    )
    (event,) = store.events_since(clocks.FakeClock().now().replace(year=2000))
    assert (event.kind, event.actor, event.details["reason"]) == (
        "authorization.refused",
        "U9",
        "nope",
    )
