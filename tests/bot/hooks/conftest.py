"""`hook_bots`: bots with registry triggers over HTTP (in memory unless given a kubeconfig)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.hooks import hookbots
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def hook_bots(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[hookbots.HookBots]:
    bots = hookbots.HookBots(slack_emulator, tmp_path)
    yield bots
    bots.stop()
