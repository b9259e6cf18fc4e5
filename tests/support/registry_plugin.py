"""pytest plugin: a real OCI registry (the CNCF distribution registry) for image tests.

Fixtures:
- `registry` (session): builds the registry if needed, starts one LocalRegistry (free
  loopback port, storage in a temp dir, no notifications), yields it, stops it at the end.
  Tests share it, so each pushes to repositories of its own (e.g. a unique name).
- `start_registry` (function): a factory `start_registry(endpoints=[(name, url, headers)])`
  for a registry of the test's own whose notifications go to `endpoints` (the bot's
  `/hooks/…`); every registry it started is stopped after the test.

A failed build or start FAILS the tests that need it, never skips them. The build runs once
after collection (when a collected test needs a registry), outside any test, so a cold build
(about two minutes) does not count against pytest-timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.support import registry as reg

_REGISTRY_FIXTURES = {"registry", "start_registry"}
_build: dict[str, Path | reg.RegistryError] = {}

StartRegistry = Callable[..., reg.LocalRegistry]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the registry before any test runs, if some collected test needs it."""
    if session.config.option.collectonly:
        return
    if not any(_REGISTRY_FIXTURES & set(getattr(i, "fixturenames", ())) for i in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("registry_plugin: scripts/registry-build (minutes when not cached)...")
    try:
        _build["binary"] = reg.build_registry()
    except reg.RegistryError as exc:  # reported by the fixture, as a test error
        _build["binary"] = exc


def _binary() -> Path:
    built = _build.get("binary")
    if built is None:  # e.g. the fixture was requested dynamically
        built = _build["binary"] = reg.build_registry()
    if isinstance(built, reg.RegistryError):
        raise built  # a broken build FAILS the tests; never a skip
    return built


@pytest.fixture(scope="session")
def registry() -> Iterator[reg.LocalRegistry]:
    """The session's registry; see tests/support/registry.py for its API."""
    with reg.LocalRegistry(_binary()) as running:
        yield running


@pytest.fixture
def start_registry() -> Iterator[StartRegistry]:
    """Start registries of this test's own (e.g. with notification endpoints)."""
    started: list[reg.LocalRegistry] = []

    def start(endpoints: Sequence[reg.Endpoint] = ()) -> reg.LocalRegistry:
        running = reg.LocalRegistry(_binary(), endpoints=endpoints).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
