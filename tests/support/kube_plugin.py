"""pytest plugin: a real control plane (once per run) with a fake kubelet, for @pytest.mark.kube.

Fixtures:
- `control_plane` (session): builds the binaries if needed, starts ControlPlane and the
  fake kubelet, yields the ControlPlane, stops everything at the end. A failed build or
  start FAILS the tests that need it: a skipped integration suite hides regressions.
- `fake_kubelet` (session): the FakeKubelet running for `control_plane` (its nodes, image
  caches, `move_tag`, `seed_cache`…; see tests/support/fake_kubelet.py).
- `kube_namespace` (function): a fresh, uniquely named namespace, deleted afterwards
  without waiting for it to drain.
- `kube_admin` (function): a kubernetes.client.ApiClient with the admin identity.

Nothing starts unless a test asks for one of these fixtures, so unit runs stay fast.
The build runs once after collection (when a collected test needs the control plane),
outside any test, so a cold build (minutes) does not count against pytest-timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.support import controlplane as cp
from tests.support import fake_kubelet

_KUBE_FIXTURES = {"control_plane", "fake_kubelet", "kube_namespace", "kube_admin"}
_build: dict[str, Path | cp.ControlPlaneError] = {}
# The session's kubelet, set while `control_plane` is up: a fixture of its own would start
# the kubelet only for tests that ask for it, but every kube test needs pods to run.
_kubelet: dict[str, fake_kubelet.FakeKubelet] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the binaries before any test runs, if some collected test needs them."""
    if session.config.option.collectonly:
        return
    if not any(_KUBE_FIXTURES & set(getattr(i, "fixturenames", ())) for i in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("kube_plugin: scripts/kube-build (minutes when not cached)...")
    try:
        _build["bin_dir"] = cp.build_binaries()
    except cp.ControlPlaneError as exc:  # reported by the fixture, as a test error
        _build["bin_dir"] = exc


@pytest.fixture(scope="session")
def control_plane() -> Iterator[cp.ControlPlane]:
    """The session's control plane; see tests/support/controlplane.py for its API."""
    built = _build.get("bin_dir")
    if built is None:  # e.g. the fixture was requested dynamically
        built = cp.build_binaries()
    if isinstance(built, cp.ControlPlaneError):
        raise built  # a broken build FAILS the kube tests; never a skip
    bin_dir = built
    plane = cp.ControlPlane(bin_dir)
    kubelet: fake_kubelet.FakeKubelet | None = None
    try:
        plane.start()
        kubelet = fake_kubelet.FakeKubelet(str(plane.kubeconfig)).start()
        _kubelet["session"] = kubelet
        yield plane
    finally:
        _kubelet.pop("session", None)
        if kubelet is not None:
            kubelet.stop()
        plane.stop()


@pytest.fixture(scope="session", name="fake_kubelet")
def fake_kubelet_fixture(control_plane: cp.ControlPlane) -> fake_kubelet.FakeKubelet:
    """The fake kubelet of the session's control plane (nodes `fake-node`, `fake-node-b`)."""
    return _kubelet["session"]


@pytest.fixture
def kube_namespace(control_plane: cp.ControlPlane) -> Iterator[str]:
    """A fresh namespace for one test; deleted afterwards (not waited for)."""
    name = control_plane.unique_name("myctl-test")
    control_plane.ensure_namespace(name)
    yield name
    with contextlib.suppress(Exception):
        control_plane.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def kube_admin(control_plane: cp.ControlPlane) -> Iterator[k8s_client.ApiClient]:
    """An official-client ApiClient authenticated as the admin (system:masters)."""
    api = k8s_config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    try:
        yield api
    finally:
        api.close()
