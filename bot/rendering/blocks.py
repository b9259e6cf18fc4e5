"""The helpers every Slack message is built from: sections, text fitting, dates, sizes, emoji.

Each rule lives here once, so a run's message, a history page, an approval request and a
report agree on how a date, a size or an outcome looks, and none of them can pass Block Kit's
limits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.values import errors

Block = dict[str, Any]

# Block Kit limits (Slack's reference pages): blocks per message, characters per section text,
# per header text, per button label, per confirm-dialog text and title.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_TITLE = 100

OUTCOME_EMOJI = {
    errors.EXIT_OK: ":white_check_mark:",
    errors.EXIT_FAILED: ":x:",
    errors.EXIT_USAGE: ":warning:",
    errors.EXIT_PARTIAL: ":large_orange_circle:",
}
RUNNING_EMOJI = ":hourglass_flowing_sand:"
INTERRUPTED_EMOJI = ":heavy_multiplication_x:"


@dataclass(frozen=True)
class Attachment:
    """A file posted next to a message when the details do not fit in it."""

    filename: str
    title: str
    content: str


@dataclass(frozen=True)
class Rendered:
    text: str  # the notification / fallback text; starts with the outcome emoji when final
    blocks: list[Block] = field(default_factory=list)
    attachment: Attachment | None = None


def emoji(exit_code: int) -> str:
    return OUTCOME_EMOJI.get(exit_code, OUTCOME_EMOJI[errors.EXIT_FAILED])


# A run a registry trigger started has no Slack user behind it: its "user" is this prefix and
# the trigger's name (bot/hookruns.py), shown as the trigger, not as a broken mention.
TRIGGER_USER_PREFIX = "trigger:"


def who(user: str) -> str:
    """Who asked: `<@U123>`, or `trigger `NAME`` for a run a registry push started."""
    if user.startswith(TRIGGER_USER_PREFIX):
        return f"trigger `{escape(user.removeprefix(TRIGGER_USER_PREFIX))}`"
    return f"<@{user}>"


def command_line(argv: Sequence[str], command: str = "") -> str:
    """`myctl ARGV…` as typed (or `myctl COMMAND` when the argv was not kept)."""
    words = list(argv) or ([command] if command else [])
    return " ".join(["myctl", *words])


# --------------------------------------------------------------------------- text


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """Text for a Block Kit text field: within `limit`, and never empty (Slack refuses "")."""
    return clip(text, limit) or " "


def escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >), so user input cannot forge mentions/links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """A code block that still fits in `limit` with its fences."""
    return "```" + fit(text, limit - 6) + "```"


def fit_lines(lines: Sequence[str], limit: int = MAX_SECTION_TEXT) -> str:
    """Whole lines up to `limit`, with a note when some were dropped."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        note = f"…and {len(lines) - index} more lines"
        if used + len(line) + 1 > limit - len(note) - 1:
            kept.append(note)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def pack(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Lines packed into as few texts of at most `limit` characters as keep them whole."""
    chunks: list[str] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > limit:
            chunks.append("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        chunks.append("\n".join(chunk))
    return chunks


# --------------------------------------------------------------------------- blocks


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, MAX_HEADER_TEXT)}}


def divider() -> Block:
    return {"type": "divider"}


def button(
    action_id: str,
    label: str,
    value: str,
    *,
    style: str | None = None,
    confirm: tuple[str, str, str] | None = None,  # title, text, confirm label
) -> Block:
    """A button whose value is `value`; with `confirm`, Slack asks first (Back cancels)."""
    shown: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": fit(label, MAX_BUTTON_TEXT)},
        "value": value,
    }
    if style:
        shown["style"] = style
    if confirm:
        title, text, yes = confirm
        shown["confirm"] = {
            "title": {"type": "plain_text", "text": fit(title, MAX_CONFIRM_TITLE)},
            "text": {"type": "mrkdwn", "text": fit(text, MAX_CONFIRM_TEXT)},
            "confirm": {"type": "plain_text", "text": fit(yes, MAX_CONFIRM_TITLE)},
            "deny": {"type": "plain_text", "text": "Back"},
            **({"style": "danger"} if style == "danger" else {}),
        }
    return shown


def actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def plain(text: str) -> Rendered:
    """A one-section answer."""
    return Rendered(text=text, blocks=[section(text)])


def within_limit(blocks: list[Block]) -> list[Block]:
    """At most MAX_BLOCKS blocks, keeping the last one (the context line that closes a message)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return blocks[: MAX_BLOCKS - 1] + blocks[-1:]


# --------------------------------------------------------------------------- dates and sizes


def utc(moment: dt.datetime) -> str:
    """The one written form of a moment: `2026-12-01 09:00 UTC` (files, fallbacks)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def date(moment: dt.datetime | None) -> str:
    """A moment shown in each reader's own time zone by Slack; `utc` is the fallback."""
    if moment is None:
        return "never"
    stamp = int(moment.astimezone(dt.UTC).timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{utc(moment)}>"


def size(n: int) -> str:
    """Bytes as people read them: `512 B`, `1.5 KiB`, `2.0 MiB`."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"
