"""`/myctl history [N]`: the latest runs (when, who, command, outcome emoji, summary).

One line per run, lines packed into sections of at most 3000 characters, never more than 50
blocks. Plain data, tested without Slack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.rendering import blocks
from commands.state import records, rollbacks

# One run's line: long summaries are cut so a page of runs stays readable.
MAX_SUMMARY = 160
MAX_COMMAND = 120


def run_emoji(run: records.RunRecord) -> str:
    if run.state == "running":
        return blocks.RUNNING_EMOJI
    if run.state == "interrupted":
        return blocks.INTERRUPTED_EMOJI
    return blocks.emoji(run.exit_code if run.exit_code is not None else -1)


def undoes(run: records.RunRecord) -> str:
    """The id of the run a rollback undid ("" for any other run)."""
    value = (run.details or {}).get("undoes") if run.command == "rollback" else None
    return str(value) if value else ""


def verified(run: records.RunRecord) -> str:
    """Whether the pods a run replaced were verified to run the image it meant ("" when the
    run restarted nothing): `verified`, or `not verified` with the verdicts that fell short."""
    details: Mapping[str, Any] = run.details or {}
    restart = details if "targets" in details else details.get("restart")
    if run.dry_run or not isinstance(restart, Mapping):
        return ""
    verdicts = [
        str(t.get("verified", "unknown"))
        for t in restart.get("targets") or []
        if isinstance(t, Mapping) and t.get("outcome") in ("restarted", "unchanged")
    ]
    if not verdicts:
        return ""
    short = sorted({v for v in verdicts if v not in ("updated", "up-to-date")})
    if not short:
        return ":heavy_check_mark: verified"
    return "not verified (" + ", ".join(short) + ")"


def run_line(run: records.RunRecord, undone_by: str = "") -> str:
    """One run; `undone_by` is the id of a later rollback of it, when one is listed too."""
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
    extras = [f"`{run.id}`"] if run.command in rollbacks.RESTARTING_COMMANDS else []
    extras += [shown for shown in (verified(run),) if shown]
    if undoes(run):
        extras.append(f":leftwards_arrow_with_hook: undoes `{undoes(run)}`")
    if undone_by:
        extras.append(f":leftwards_arrow_with_hook: rolled back by `{undone_by}`")
    more = "".join(f" · {extra}" for extra in extras)
    return (
        f"{run_emoji(run)} {blocks.date(run.started_at)} {who} "
        f"`{blocks.escape(command)}`{dry} — "
        f"{blocks.escape(blocks.clip(summary, MAX_SUMMARY))}{more}{link}"
    )


def history(runs: Sequence[records.RunRecord]) -> blocks.Rendered:
    text = f"myctl history: the latest {len(runs)} runs" if runs else "myctl history: no runs yet"
    shown = [blocks.header(f"Latest {len(runs)} myctl runs")]
    if not runs:
        return blocks.Rendered(text, [*shown, blocks.section("No runs recorded yet.")])
    # A rollback next to the run it undid: that run's line names it.
    undone_by = {undoes(run): run.id for run in reversed(runs) if undoes(run)}
    sections = blocks.pack(run_line(run, undone_by.get(run.id, "")) for run in runs)
    shown += [blocks.section(chunk) for chunk in sections[: blocks.MAX_BLOCKS - 1]]
    return blocks.Rendered(text, shown)
