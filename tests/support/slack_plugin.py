"""Pytest fixtures for end-to-end tests through the Slack emulator.

Registered by ``pytest_plugins`` in tests/conftest.py. The tokens and secret below are
fake on purpose: the emulator accepts exactly these, so a test can never reach slack.com
with a real credential.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.slack_emulator import SlackEmulator

BOT_TOKEN = "xoxb-test-bot"
APP_TOKEN = "xapp-test-app"
SIGNING_SECRET = "test-signing-secret"


def slack_environment(emulator: SlackEmulator, *, socket_mode: bool = False) -> dict[str, str]:
    """Environment variables (names: docs/configuration.md) that point the bot at ``emulator``.

    Without ``socket_mode`` there is no SLACK_APP_TOKEN, which selects the HTTP transport.
    """
    env = {
        "SLACK_API_URL": emulator.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    if socket_mode:
        env["SLACK_APP_TOKEN"] = APP_TOKEN
    return env


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    """A fresh fake Slack per test, so recorded calls and injected faults never leak."""
    with SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def slack_env(slack_emulator: SlackEmulator) -> dict[str, str]:
    """HTTP-mode environment for the bot; use ``slack_environment(..., socket_mode=True)``
    for Socket Mode."""
    return slack_environment(slack_emulator)
