"""pytest plugin: a real state store per test, on each backend (SQLite, PostgreSQL).

Registered by ``pytest_plugins`` in tests/conftest.py; the PostgreSQL server comes from
tests/support/postgres.py. Tests of the bot pass these real stores: it has no store-less mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commands.state import store as store_mod
from commands.values import clock as clocks


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def clock() -> clocks.FakeClock:
    return clocks.FakeClock()


@pytest.fixture
def store(state_url: str, clock: clocks.FakeClock) -> Iterator[store_mod.StateStore]:
    with store_mod.StateStore(state_url, clock=clock) as opened:
        yield opened
