"""`hook_bots`: bots with registry triggers over HTTP (in memory unless given a kubeconfig)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.hooks import hookbots
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def hook_bots(
    request: pytest.FixtureRequest, slack_emulator: SlackEmulator, tmp_path: Path
) -> Iterator[hookbots.HookBots]:
    """Served in-process, or (`parametrize("hook_bots", ["front"], indirect=True)`) through
    the front process, as `myctl-bot` serves them."""
    front = getattr(request, "param", "in-process") == "front"
    bots = hookbots.HookBots(slack_emulator, tmp_path, front=front)
    yield bots
    bots.stop()
