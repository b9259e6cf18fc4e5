"""bot/rendering/history.py: `/myctl history [N]` as Block Kit data, from a real store."""

from __future__ import annotations

from bot.rendering import blocks, history
from commands.state import store as store_mod
from commands.values import clock as clocks
from tests.support import runs, slack_blocks


def _run(store: store_mod.StateStore, exit_code: int | None, summary: str = "ok") -> str:
    run_id = store.start_run(
        runs.restart(
            argv=["restart", "deploy/web"], permalink="https://test.slack.com/archives/C1/p1"
        )
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
    shown = history.history(store.history(10)).blocks
    assert [block["type"] for block in shown] == ["header", "section"]
    lines = shown[1]["text"]["text"].splitlines()
    assert lines[0].startswith(blocks.INTERRUPTED_EMOJI)
    assert [line.split()[0] for line in lines[1:]] == [
        ":large_orange_circle:",
        ":warning:",
        ":x:",
        ":white_check_mark:",
    ]
    latest = lines[1]
    assert "<@U1>" in latest and "`restart deploy/web`" in latest and "summary 3" in latest
    assert "<!date^" in latest and latest.endswith("|message>")


def test_history_of_many_long_runs_stays_within_block_kit_limits(
    store: store_mod.StateStore,
) -> None:
    for _ in range(store_mod.MAX_HISTORY):
        _run(store, 0, summary="<x>" * 400)
    shown = history.history(store.history(store_mod.MAX_HISTORY)).blocks
    assert slack_blocks.validate_blocks(shown) == []
    sections = [block["text"]["text"] for block in shown if block["type"] == "section"]
    assert len(sections) > 1, "a page of long runs is split over several sections"
    assert not any("<x>" in text for text in sections)


def test_empty_history_says_so() -> None:
    rendered = history.history([])
    assert [block["type"] for block in rendered.blocks] == ["header", "section"]
    assert rendered.blocks[1]["text"]["text"] == "No runs recorded yet."
