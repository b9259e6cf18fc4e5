"""Slack text → what to do: an invocation to run, a bot command, or the answer to give instead.

Runs on bolt's listener thread: parsing only, no I/O, so a usage error or help is the ack itself.
"""

from __future__ import annotations

from bot import commandline
from bot.conversation import botcommands, quirks
from bot.rendering import outcomes
from bot.rendering.blocks import Rendered
from commands.values import errors

# Global options that name files or credentials on the bot's host: a chat user must not pick
# the bot's kubeconfig, context or configuration file.
HOST_OPTIONS = ("--kubeconfig", "--context", "--config")
NOT_FROM_SLACK = frozenset({"completion"})

Parsed = commandline.Invocation | botcommands.BotCommand | Rendered


def _command_of(argv: list[str]) -> str:
    """The subcommand's name, or "" (global options may come first)."""
    known = commandline.commands()
    return next((a for a in argv if a in known), "")


def parse(text: str) -> Parsed:
    """The invocation to run, or the answer to give instead (help or a usage error)."""
    try:
        argv = quirks.to_argv(text)
    except errors.UsageError as exc:
        return outcomes.usage_error(str(exc), commandline.usage_text())
    if argv and argv[0] in botcommands.COMMANDS:
        try:
            return botcommands.parse(argv)
        except errors.UsageError as exc:
            return outcomes.usage_error(str(exc))
    if not argv or argv[0] == "help":
        return outcomes.usage(commandline.usage_text(argv[1] if len(argv) > 1 else None))
    if "-h" in argv or "--help" in argv:
        return outcomes.usage(commandline.usage_text(_command_of(argv) or None))
    for option in HOST_OPTIONS:
        if any(a == option or a.startswith(option + "=") for a in argv):
            return outcomes.usage_error(f"{option} cannot be used from Slack")
    command = _command_of(argv)
    if command in NOT_FROM_SLACK:
        return outcomes.usage_error(f"`{command}` is for terminals only", commandline.usage_text())
    try:
        return commandline.parse(argv)
    except errors.UsageError as exc:
        return outcomes.usage_error(str(exc), commandline.usage_text(command or None))
