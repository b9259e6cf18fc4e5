"""A run's messages: the answers given instead of a run, live progress, the final outcome.

Built from bot/rendering/blocks.py; plain data, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import commandline
from bot.rendering import blocks, waves
from bot.rendering.blocks import Rendered
from commands.values import errors, events, results

# Lines of one kind (restarted, failed …) shown inline; the rest go to the attached file. Keeps
# the final message readable in a channel and far below the Block Kit limits.
MAX_INLINE_LINES = 20
# Warnings shown in a progress update: the latest few are what someone watching needs.
MAX_PROGRESS_NOTES = 3

# Not-done outcomes first: they are what the reader has to act on.
_GROUP_TITLES = {
    events.Outcome.FAILED: "Failed",
    events.Outcome.UNCHANGED: "Restarted, still the old image",
    events.Outcome.STALE_PULL: "Not restarted: cannot pull a new image",
    events.Outcome.NOT_STARTED: "Not started (after the canary)",
    events.Outcome.RESTARTED: "Restarted",
    events.Outcome.WOULD_RESTART: "Would restart (dry run)",
    events.Outcome.UP_TO_DATE: "Already up to date",
    events.Outcome.SKIPPED: "Skipped",
}

# --------------------------------------------------------------------------- instead of a run


def usage(text: str) -> Rendered:
    """`/myctl`, `/myctl help [command]`."""
    return Rendered(text=blocks.code(text), blocks=[blocks.section(blocks.code(text))])


def usage_error(message: str, usage_text: str = "") -> Rendered:
    head = f"{blocks.emoji(errors.EXIT_USAGE)} {message.strip().splitlines()[-1]}"
    shown = [blocks.section(head)]
    if usage_text:
        shown.append(blocks.section(blocks.code(usage_text)))
    return Rendered(text=head, blocks=shown)


def busy(running: int) -> Rendered:
    return blocks.plain(
        f":hourglass: myctl is busy ({running} runs in progress or waiting); "
        "nothing was started, try again in a minute."
    )


def click_busy() -> Rendered:
    return blocks.plain(
        ":hourglass: myctl is busy; your click was not taken, try again in a minute."
    )


def refused(command: str, reason: str) -> Rendered:
    return blocks.plain(
        f"{blocks.emoji(errors.EXIT_USAGE)} You may not run `myctl {command}` here: {reason}."
    )


def no_approvers(command: str) -> Rendered:
    return blocks.plain(
        f"{blocks.emoji(errors.EXIT_USAGE)} `{command}` needs approval, and nobody could approve "
        "it: configure approvers in slack.approvals.approvers (users or usergroups). "
        "Nothing was run."
    )


def approval_not_posted(command: str) -> Rendered:
    return blocks.plain(
        f"{blocks.emoji(errors.EXIT_FAILED)} `{command}` needs approval, but the request could "
        "not be posted in this channel (invite me here). Nothing was run."
    )


INTERRUPTED_TEXT = f"{blocks.INTERRUPTED_EMOJI} interrupted: the bot restarted during this run"


def interrupted(argv: Sequence[str], user: str) -> Rendered:
    """A run's message after the bot died mid-run: its outcome is unknown, so say that."""
    line = (
        f"{blocks.who(user)} ran `{blocks.command_line(argv)}` · outcome unknown; check the cluster"
    )
    return Rendered(
        text=INTERRUPTED_TEXT, blocks=[blocks.section(INTERRUPTED_TEXT), blocks.context(line)]
    )


def fallback_note(channel: str) -> str:
    return f"(I cannot post in <#{channel}>; invite me there to share runs with the channel.)"


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """What a progress update shows: a snapshot built by the reporter from engine events."""

    argv: tuple[str, ...]
    user: str
    step: str = ""
    total: int | None = None
    counts: tuple[tuple[events.Outcome, int], ...] = ()
    notes: tuple[str, ...] = ()
    finished_steps: tuple[str, ...] = ()
    wave: str = ""  # --canary: "wave 1/2: canary (1)", then "wave 2/2: the rest (4)"
    pause: waves.Pause | None = None  # paused after a good canary: Continue / Stop


def outcome_label(outcome: events.Outcome) -> str:
    """`not started`, `up to date`: an outcome as a reader says it."""
    return outcome.value.replace("-", " ")


def progress(state: Progress) -> Rendered:
    running = f"is running `{blocks.command_line(state.argv)}`"
    head = f"{blocks.RUNNING_EMOJI} {blocks.who(state.user)} {running}"
    done = sum(n for _, n in state.counts)
    line = ""
    if state.step:
        of = f"/{state.total}" if state.total is not None else ""
        counts = ", ".join(f"{n} {outcome_label(o)}" for o, n in state.counts if n)
        wave = f" · {state.wave}" if state.wave else ""
        line = f"*{state.step}*{wave}: {done}{of}" + (f" ({counts})" if counts else "")
    shown = [blocks.section(head)]
    if line:
        shown.append(blocks.section(line))
    if state.finished_steps:
        shown.append(blocks.context("done: " + " · ".join(state.finished_steps)))
    for note in state.notes[-MAX_PROGRESS_NOTES:]:
        shown.append(blocks.context(f":warning: {note}"))
    if state.pause is not None:
        shown.extend(waves.pause_blocks(state.pause))
    return Rendered(text=f"{head}: {line}" if line else head, blocks=shown)


# --------------------------------------------------------------------------- final outcome


def _outcome_groups(result: commandline.Result) -> list[tuple[str, list[str]]]:
    restart: results.RestartResult | None = None
    lines: list[tuple[str, list[str]]] = []
    if isinstance(result, results.RestartResult):
        restart = result
    elif isinstance(result, results.OrchestrateResult):
        steps = [f"check: {result.check.summary()}"]
        if result.rebuild is not None:
            steps.append(f"rebuild: {result.rebuild.summary()}")
        if result.select is not None:
            steps.append(f"select: {result.select.summary()}")
            steps.extend(f"warning: {w}" for w in result.select.warnings)
        lines.append(("Steps", steps))
        restart = result.restart
    elif isinstance(result, results.SelectResult):
        found = [
            f"{m.workload.kind.lower}/{m.workload.namespace}/{m.workload.name} "
            f"({', '.join(m.containers)}): {m.image}"
            for m in result.matches
        ]
        lines.append(("Workloads", found))
        if result.warnings:
            lines.append(("Warnings", list(result.warnings)))
    elif isinstance(result, results.RebuildResult):
        lines.append(("Changes", result.diff.lines()))
    if restart is not None:
        if restart.advice():
            lines.insert(0, ("Why, and the fix", list(restart.advice())))
        for outcome, title in _GROUP_TITLES.items():
            items = [_outcome_line(item) for item in restart.outcomes if item.outcome is outcome]
            lines.append((title, items))
    return [(title, items) for title, items in lines if items]


def _outcome_line(item: results.TargetOutcome) -> str:
    # "restarted X" would repeat the target; reasons for not-done targets are what matters,
    # and for verified ones the digests before → after.
    change = item.digest_change()
    digests = f" `{change}`" if change else ""
    if item.outcome in events.NOT_DONE or item.outcome is events.Outcome.SKIPPED:
        return f"{item.target}: {item.detail}{digests}"
    if item.rollout:
        return f"{item.target}: {item.verified.value}{digests}"
    return f"{item.target}{digests}"


def final(
    argv: Sequence[str], user: str, result: commandline.Result, notes: Sequence[str] = ()
) -> Rendered:
    """The last update of a run: outcome emoji first, then a one-line summary, then details.
    `notes` are context lines under the summary (the run a rollback undoes, a canary's
    Continue / Stop)."""
    return _final(argv, user, result.exit_code, result.summary(), _outcome_groups(result), notes)


def final_error(argv: Sequence[str], user: str, exc: errors.MyctlError) -> Rendered:
    return _final(argv, user, exc.exit_code, str(exc), [])


def final_crash(argv: Sequence[str], user: str) -> Rendered:
    # The exception text may carry anything (URLs, tokens in a traceback): it goes to the log.
    return _final(argv, user, errors.EXIT_FAILED, "internal error; see the bot's log", [])


def _final(
    argv: Sequence[str],
    user: str,
    exit_code: int,
    summary: str,
    groups: list[tuple[str, list[str]]],
    notes: Sequence[str] = (),
) -> Rendered:
    first_line = summary.strip().splitlines()[0] if summary.strip() else "done"
    head = f"{blocks.emoji(exit_code)} {first_line}"
    ran = f"{blocks.who(user)} ran `{blocks.command_line(argv)}` · exit {exit_code}"
    shown = [blocks.section(head), blocks.context(ran), *map(blocks.context, notes)]
    truncated = False
    for title, items in groups:
        inline = items[:MAX_INLINE_LINES]
        body = "\n".join(f"• {line}" for line in inline)
        more = len(items) - len(inline)
        text = f"*{title}* ({len(items)})\n{body}"
        if more or len(text) > blocks.MAX_SECTION_TEXT:
            truncated = True
            tail = f"\n…and {more} more: full list attached" if more else ""
            text = blocks.fit(text, blocks.MAX_SECTION_TEXT - len(tail)) + tail
        shown.append(blocks.section(text))
    attachment = None
    if truncated:
        content = "\n\n".join(
            f"{title} ({len(items)})\n" + "\n".join(items) for title, items in groups
        )
        attachment = blocks.Attachment(
            "myctl-outcome.txt", f"{blocks.command_line(argv)}: details", content + "\n"
        )
    # Groups are few (at most six), so the limit holds by construction; kept as a guard.
    return Rendered(text=head, blocks=blocks.within_limit(shown), attachment=attachment)
