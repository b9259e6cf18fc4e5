"""Bots over HTTP: `fast_bot` on the in-memory cluster, `http_bot` on the local control plane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.transport import bots
from tests.support import controlplane as cp
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def fast_bot(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[bots.BotFactory]:
    yield from bots.http_bots(slack_emulator, None, tmp_path)


@pytest.fixture
def http_bot(
    slack_emulator: SlackEmulator, control_plane: cp.ControlPlane, tmp_path: Path
) -> Iterator[bots.BotFactory]:
    yield from bots.http_bots(slack_emulator, control_plane, tmp_path)
