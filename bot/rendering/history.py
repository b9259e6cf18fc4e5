"""`/myctl history [N]`: the latest runs (when, who, command, outcome emoji, summary).

One line per run, lines packed into sections of at most 3000 characters, never more than 50
blocks. Plain data, tested without Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.rendering import blocks
from commands.state import records

# One run's line: long summaries are cut so a page of runs stays readable.
MAX_SUMMARY = 160
MAX_COMMAND = 120


def run_emoji(run: records.RunRecord) -> str:
    if run.state == "running":
        return blocks.RUNNING_EMOJI
    if run.state == "interrupted":
        return blocks.INTERRUPTED_EMOJI
    return blocks.emoji(run.exit_code if run.exit_code is not None else -1)


def run_line(run: records.RunRecord) -> str:
    command = blocks.clip(" ".join(run.argv) or run.command, MAX_COMMAND).replace("`", "'")
    who = f"<@{run.user}>" if run.source == "slack" else blocks.escape(run.user or run.source)
    dry = " _(dry run)_" if run.dry_run else ""
    if run.state == "interrupted":
        summary = "interrupted (the bot stopped during the run)"
    elif run.state == "running":
        summary = "running"
    else:
        summary = run.summary.splitlines()[0] if run.summary else f"exit {run.exit_code}"
    link = f" <{run.permalink}|message>" if run.permalink else ""
    return (
        f"{run_emoji(run)} {blocks.date(run.started_at)} {who} "
        f"`{blocks.escape(command)}`{dry} — "
        f"{blocks.escape(blocks.clip(summary, MAX_SUMMARY))}{link}"
    )


def history(runs: Sequence[records.RunRecord]) -> blocks.Rendered:
    text = f"myctl history: the latest {len(runs)} runs" if runs else "myctl history: no runs yet"
    shown = [blocks.header(f"Latest {len(runs)} myctl runs")]
    if not runs:
        return blocks.Rendered(text, [*shown, blocks.section("No runs recorded yet.")])
    sections = blocks.pack(map(run_line, runs))
    shown += [blocks.section(chunk) for chunk in sections[: blocks.MAX_BLOCKS - 1]]
    return blocks.Rendered(text, shown)
