"""Slack failing under a run (through the emulator's fault injection): 429 with Retry-After and
HTTP 5xx on chat.postMessage and chat.update. The run completes, its outcome is delivered — in
the channel, or through the command's response_url when the channel cannot be written — and the
audit trail has the run with its true exit code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.bot.transport.bots import OUTCOMES, RUN_DEADLINE, BotFactory, slash
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.slack
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _outcome(emulator: SlackEmulator) -> str:
    def delivered() -> str | None:
        for message in emulator.messages_in("C_OPS"):
            if message.text.startswith(OUTCOMES):
                return message.text
        for _, body in emulator.responses:
            if str(body.get("text", "")).startswith(OUTCOMES):
                return str(body["text"])
        return None

    found: str = emulator.wait_for(delivered, timeout=RUN_DEADLINE)
    return found


def _inject(emulator: SlackEmulator, method: str, fault: str, times: int) -> None:
    if fault == "429":
        emulator.rate_limit_next(method, times=times, retry_after=1)
    else:
        emulator.server_error_next(method, times=times, status=int(fault))


@pytest.mark.parametrize(
    ("method", "fault", "times"),
    [
        ("chat.postMessage", "429", 1),
        ("chat.postMessage", "429", 2),
        ("chat.postMessage", "500", 1),
        ("chat.postMessage", "503", 3),
        ("chat.update", "429", 1),
        ("chat.update", "429", 4),
        ("chat.update", "500", 1),
        ("chat.update", "503", 5),
    ],
)
def test_the_outcome_is_delivered_whatever_slack_answers_on_the_way(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, method: str, fault: str, times: int
) -> None:
    _inject(slack_emulator, method, fault, times)
    running = fast_bot()

    slash(running, "check -n shop")

    text = _outcome(slack_emulator)
    assert text.startswith(":x: cache needs rebuild"), text  # check's true outcome: exit 1
    store = running.bot.services.store

    def recorded() -> Any:
        return [r for r in store.runs_since(EPOCH) if r.exit_code is not None] or None

    (run,) = slack_emulator.wait_for(recorded, timeout=RUN_DEADLINE)
    assert (run.command, run.exit_code) == ("check", 1)
    assert slack_emulator.violations == []
