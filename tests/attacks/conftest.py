"""Bots over HTTP for the attack tests: `fast_bot` on the in-memory cluster (no Kubernetes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.transport import bots
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def fast_bot(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[bots.BotFactory]:
    yield from bots.http_bots(slack_emulator, None, tmp_path)
