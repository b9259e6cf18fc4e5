"""Fixtures of the fault tests: `fast_bot`, bots over HTTP on the in-memory cluster (no
Kubernetes); `faults`, the HTTP fault proxy (tests/support/httpfaults.py) in front of the
session's control plane, with a kubeconfig that goes through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.transport import bots
from tests.support import controlplane as cp
from tests.support.httpfaults import HttpFaults
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def fast_bot(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[bots.BotFactory]:
    yield from bots.http_bots(slack_emulator, None, tmp_path)


@pytest.fixture
def faults(control_plane: cp.ControlPlane, tmp_path: Path) -> Iterator[tuple[HttpFaults, Path]]:
    made = HttpFaults(control_plane).start()
    try:
        yield made, made.kubeconfig(tmp_path / "faults.kubeconfig")
    finally:
        made.close()
