"""The audit trail in Slack: `/myctl history [N]` and the audit of authorization refusals.

`history_blocks` renders the latest runs (when, who, command, outcome emoji, summary) as Block
Kit within Slack's limits: one line per run, lines packed into sections of at most 3000
characters, never more than 50 blocks. Plain data, tested without Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages
from commands.state import records
from commands.state import store as store_mod
from commands.values import errors

Block = messages.Block

DEFAULT_HISTORY = 10
MAX_HISTORY = store_mod.MAX_HISTORY
# One run's line: long summaries are cut so a page of runs stays readable.
MAX_SUMMARY = 160
MAX_COMMAND = 120

# Block Kit limits and the outcome emoji come from bot/messages.py, so that history and live
# run messages agree; only the state a finished run cannot have is added here.
INTERRUPTED_EMOJI = ":heavy_multiplication_x:"


class HistoryUsage(errors.UsageError):
    pass


def parse_limit(args: Sequence[str]) -> int:
    """`history`, `history 25`: the number of runs, 1..MAX_HISTORY (exit 2 otherwise)."""
    if not args:
        return DEFAULT_HISTORY
    if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_HISTORY:
        raise HistoryUsage(f"usage: /myctl history [N], N from 1 to {MAX_HISTORY}")
    return int(args[0])


def run_emoji(run: records.RunRecord) -> str:
    if run.state == "running":
        return messages.RUNNING_EMOJI
    if run.state == "interrupted":
        return INTERRUPTED_EMOJI
    return messages.OUTCOME_EMOJI.get(run.exit_code if run.exit_code is not None else -1, ":x:")


def run_line(run: records.RunRecord) -> str:
    when = int(run.started_at.timestamp())
    fallback = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
    command = messages.clip(" ".join(run.argv) or run.command, MAX_COMMAND).replace("`", "'")
    who = f"<@{run.user}>" if run.source == "slack" else messages.escape(run.user or run.source)
    dry = " _(dry run)_" if run.dry_run else ""
    if run.state == "interrupted":
        summary = "interrupted (the bot stopped during the run)"
    elif run.state == "running":
        summary = "running"
    else:
        summary = run.summary.splitlines()[0] if run.summary else f"exit {run.exit_code}"
    link = f" <{run.permalink}|message>" if run.permalink else ""
    return (
        f"{run_emoji(run)} <!date^{when}^{{date_short}} {{time}}|{fallback}> {who} "
        f"`{messages.escape(command)}`{dry} — "
        f"{messages.escape(messages.clip(summary, MAX_SUMMARY))}{link}"
    )


def history_text(runs: Sequence[records.RunRecord]) -> str:
    return f"myctl history: the latest {len(runs)} runs" if runs else "myctl history: no runs yet"


def history_blocks(runs: Sequence[records.RunRecord]) -> list[Block]:
    header: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Latest {len(runs)} myctl runs"},
    }
    if not runs:
        return [header, _section("No runs recorded yet.")]
    blocks: list[Block] = [header]
    chunk: list[str] = []
    size = 0
    for line in map(run_line, runs):
        if chunk and size + len(line) + 1 > messages.MAX_SECTION_TEXT:
            blocks.append(_section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        if len(blocks) >= messages.MAX_BLOCKS - 1:
            break
    if chunk and len(blocks) < messages.MAX_BLOCKS:
        blocks.append(_section("\n".join(chunk)))
    return blocks


def _section(text: str) -> Block:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": messages.clip(text, messages.MAX_SECTION_TEXT)},
    }


def record_refusal(
    store: store_mod.StateStore,
    *,
    command: str,
    argv: Sequence[str],
    user: str,
    channel: str,
    reason: str,
) -> None:
    """Audit an authorization refusal (bot/access.py decided; this only records it)."""
    store.record_event(
        "authorization.refused",
        actor=user,
        channel=channel,
        details={"command": command, "argv": list(argv), "reason": reason, "exit_code": 2},
    )
