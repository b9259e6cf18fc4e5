"""Undo what Slack does to typed text, so `/myctl` parses exactly like the terminal.

Slack rewrites a slash command's text before we see it: smart quotes, `--` autocorrected to a
long dash, URLs and mentions wrapped in `<...>` markup, and `&`, `<`, `>` HTML-escaped. Each rule
below restores what the user typed; then the text is split as a POSIX shell would.
"""

from __future__ import annotations

import re
import shlex

from commands.values import errors

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "\u00a0": " "})
# <https://x|label>, <https://x>, <mailto:a@b|a@b>: the label is what was typed; a bare URL
# was typed as the URL itself.
_LINK = re.compile(r"<((?:https?|mailto|ftp):[^<>|\s]*)(?:\|([^<>]*))?>")
# <@U123>, <@U123|name> (user), <#C123|name> (channel), <!subteam^S123|@team> (user group):
# the id is what our configuration and the parser expect.
_MENTION = re.compile(r"<[@#]([UWCGD][A-Z0-9]+)(?:\|[^<>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^<>]*)?>")
# A token that starts with a long dash was typed with `-` or `--` and autocorrected.
_LONG_DASH = re.compile(r"^[—–]+")


def normalize(text: str) -> str:
    """The command text as typed, before shell-style splitting."""
    text = text.translate(_QUOTES)
    text = _LINK.sub(lambda m: m.group(2) if m.group(2) else m.group(1), text)
    text = _MENTION.sub(lambda m: m.group(1), text)
    text = _SUBTEAM.sub(lambda m: m.group(1), text)
    # Slack escapes exactly these three; unescape last so `&lt;` never becomes markup above.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _undash(token: str) -> str:
    match = _LONG_DASH.match(token)
    if not match:
        return token
    rest = token[match.end() :]
    if not rest:
        return "--"  # a lone `—` was `--` (end of options)
    # `–n` was `-n`; `—namespace` was `--namespace` (one letter = a short option).
    name = rest.split("=", 1)[0]
    return ("-" if len(name) == 1 else "--") + rest


def to_argv(text: str) -> list[str]:
    """Split `/myctl` text into argv. Raises UsageError on unbalanced quotes."""
    try:
        tokens = shlex.split(normalize(text))
    except ValueError as exc:
        raise errors.UsageError(f"cannot split the command line: {exc}") from exc
    return [_undash(token) for token in tokens]
