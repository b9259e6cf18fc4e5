"""Hostile `/myctl` text, generated: the whole Slack parsing path never raises, answers only
with a valid invocation, a bot command or a usage answer, and runs nothing on a usage error.

The parser is exercised directly (hundreds of examples, fast) and through the HTTP app on the
in-memory cluster (a few dozen, each a signed request): no Kubernetes is started.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given

from bot import commandline
from bot.conversation import botcommands, parse, quirks
from bot.rendering.blocks import Rendered
from commands.values import errors
from tests.attacks import strategies
from tests.bot.transport.bots import ACK_BUDGET, BotFactory, slash
from tests.support.slack_emulator import SlackEmulator

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _is_usage_error(parsed: parse.Parsed) -> bool:
    return isinstance(parsed, Rendered) and parsed.text.startswith(":warning:")


def _check(text: str) -> parse.Parsed:
    parsed = parse.parse(text)
    if isinstance(parsed, Rendered):
        # A usage error (exit 2, with the reason) or help (a code block); nothing else.
        assert parsed.text.startswith((":warning:", "```")), parsed.text
        assert parsed.blocks, "an answer always has blocks"
        assert all(len(str(b)) < 6000 for b in parsed.blocks), "Block Kit limits"
    elif isinstance(parsed, botcommands.BotCommand):
        assert parsed.command in botcommands.COMMANDS
    else:
        assert isinstance(parsed, commandline.Invocation)
        assert parsed.command in commandline.commands()
        assert parsed.command not in parse.NOT_FROM_SLACK
        for option in parse.HOST_OPTIONS:
            assert not any(a == option or a.startswith(option + "=") for a in parsed.argv)
    return parsed


@strategies.MANY
@given(strategies.slack_texts())
def test_any_slack_text_parses_to_an_invocation_a_bot_command_or_a_usage_answer(
    text: str,
) -> None:
    _check(text)


@strategies.MANY
@given(strategies.slack_texts())
def test_quirks_never_raise_anything_but_a_usage_error(text: str) -> None:
    try:
        argv = quirks.to_argv(text)
    except errors.UsageError:
        return
    assert all(isinstance(a, str) for a in argv)
    # Slack's markup is gone once undone: no `<@U…>` mention survives normalization.
    assert "<@U" not in quirks.normalize(text.replace("&lt;", ""))


@pytest.mark.parametrize(
    "text",
    [
        "restart “deployment/api",  # unbalanced curly quote
        "orchestrate —image",  # a long-dash flag without its value
        "restart --image <http://x|x> deployment/api",  # both forms
        "select " + "x" * 100_000,
        "—kubeconfig=/etc/kubernetes/admin.conf check",
        "check —config /etc/passwd",
        "completion bash",
        "orchestrate --image NGINX:1.27",
        "rollback --run",
    ],
)
def test_known_hostile_texts_are_usage_errors(text: str) -> None:
    assert _is_usage_error(_check(text))


@pytest.mark.slack
def test_usage_errors_over_http_are_answered_in_time_and_run_nothing(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    answered: list[str] = []

    @strategies.FEW
    @given(strategies.slack_texts().filter(lambda t: _is_usage_error(parse.parse(t))))
    def send(text: str) -> None:
        answer = slash(running, text)
        assert answer.status_code == 200
        assert answer.elapsed_seconds < ACK_BUDGET
        body = answer.json()
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith(":warning:")
        answered.append(text)

    send()

    assert len(answered) >= 20
    assert slack_emulator.calls_to("chat.postMessage") == []
    assert slack_emulator.calls_to("chat.update") == []
    assert running.cluster is not None and running.cluster.calls.patches == []
    assert running.bot.services.store.runs_since(EPOCH) == []
