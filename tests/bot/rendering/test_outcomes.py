"""A run's messages as data: outcome emoji first, reasons, Block Kit limits, progress."""

from __future__ import annotations

from typing import Any

import pytest

from bot import commandline
from bot.rendering import blocks, outcomes
from commands.values import errors, events, results, workloads


def _restart_result(restarted: int, failed: int) -> results.RestartResult:
    def ref(i: int) -> workloads.WorkloadRef:
        return workloads.WorkloadRef(workloads.Kind.DEPLOYMENT, "shop", f"app-{i:04d}")

    items = [
        results.TargetOutcome(ref(i), events.Outcome.RESTARTED, "restarted")
        for i in range(restarted)
    ] + [
        results.TargetOutcome(
            ref(restarted + i), events.Outcome.FAILED, "is paused; resume it first"
        )
        for i in range(failed)
    ]
    return results.RestartResult(tuple(items))


@pytest.mark.parametrize(
    ("restarted", "failed", "emoji"),
    [(2, 0, ":white_check_mark:"), (0, 2, ":x:"), (2, 1, ":large_orange_circle:")],
)
def test_final_message_begins_with_the_outcome_emoji(
    restarted: int, failed: int, emoji: str
) -> None:
    rendered = outcomes.final(("restart", "x"), "U1", _restart_result(restarted, failed))
    assert rendered.text.startswith(emoji + " ")
    assert rendered.blocks[0]["text"]["text"].startswith(emoji)


def test_usage_outcome_is_a_warning() -> None:
    rendered = outcomes.final_error(("select",), "U1", errors.CacheInvalid("no cache"))
    assert rendered.text == ":warning: no cache"


def test_failures_show_their_reasons() -> None:
    rendered = outcomes.final(("restart",), "U1", _restart_result(1, 1))
    text = "\n".join(b["text"]["text"] for b in rendered.blocks if b["type"] == "section")
    assert "*Failed* (1)" in text and "is paused; resume it first" in text
    assert rendered.attachment is None


def test_long_lists_stay_within_block_kit_limits_and_are_attached() -> None:
    rendered = outcomes.final(("restart",), "U1", _restart_result(3000, 400))
    assert len(rendered.blocks) <= blocks.MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= blocks.MAX_SECTION_TEXT
    assert rendered.attachment is not None
    assert rendered.attachment.content.count("\n") >= 3400
    assert "app-3399" in rendered.attachment.content


def test_huge_usage_text_is_cut_to_the_section_limit() -> None:
    rendered = outcomes.usage_error("Error: x", "u" * 10_000)
    assert all(len(b["text"]["text"]) <= blocks.MAX_SECTION_TEXT for b in rendered.blocks)


def test_progress_shows_step_counts_and_warnings() -> None:
    state = outcomes.Progress(
        argv=("orchestrate", "--image", "x"),
        user="U1",
        step="restart",
        total=10,
        counts=((events.Outcome.RESTARTED, 3), (events.Outcome.FAILED, 1)),
        notes=("a", "b", "c", "d"),
    )
    rendered = outcomes.progress(state)
    assert rendered.text.startswith(":hourglass_flowing_sand:")
    assert "*restart*: 4/10 (3 restarted, 1 failed)" in rendered.text
    warnings = [b for b in rendered.blocks if b["type"] == "context"]
    assert len(warnings) == outcomes.MAX_PROGRESS_NOTES


def _version() -> commandline.Result:
    def no_engine() -> Any:
        raise AssertionError("version needs no engine")

    return commandline.execute(commandline.parse(["version"]), no_engine)


def test_version_result_renders_as_success() -> None:
    assert outcomes.final(("version",), "U1", _version()).text == ":white_check_mark: myctl 0.1.0"


# --------------------------------------------------------------------------- access
