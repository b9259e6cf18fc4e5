"""Requests that the API server never answers (held by tests/support/httpfaults.py on the real
control plane) during `restart`: with `kube.read_timeout: 2s` (docs/configuration.md) the client
gives up on each after 2 s and retries, 3 attempts in all; a stall that passes is ridden out,
and one that does not is reported by what the cluster shows — restarted when the patch reached
the server and only its answer was lost, failed and untouched when it never arrived
(docs/reliability.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client

from commands.kube import transport
from tests.faults.test_api_faults import IMAGE, NAMES, annotated, restart_targets
from tests.kube import objects
from tests.support.httpfaults import Fault, HttpFaults

pytestmark = pytest.mark.kube
READ_TIMEOUT = 2.0
VICTIM = NAMES[1]
PATCHES = f"/deployments/{VICTIM}"


@pytest.fixture
def deployed(kube_namespace: str, kube_admin: k8s_client.ApiClient) -> str:
    for name in NAMES:
        objects.deployment(kube_admin, kube_namespace, name, IMAGE)
    return kube_namespace


def _restart(kubeconfig: Path, namespace: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    config = tmp_path / "myctl.yaml"
    config.write_text(f"kube: {{read_timeout: {READ_TIMEOUT}s}}\n", encoding="utf-8")
    return restart_targets(kubeconfig, namespace, NAMES, "--config", str(config))


def test_a_patch_stalled_past_the_read_timeout_is_retried_and_every_target_restarted(
    deployed: str,
    kube_admin: k8s_client.ApiClient,
    faults: tuple[HttpFaults, Path],
    tmp_path: Path,
) -> None:
    proxy, kubeconfig = faults
    proxy.stall("PATCH", PATCHES)

    code, targets = _restart(kubeconfig, deployed, tmp_path)

    assert code == 0, targets
    assert {t["outcome"] for t in targets.values()} == {"restarted"}
    assert annotated(kube_admin, deployed) == set(NAMES)
    assert proxy.faulted(Fault.STALL) == 1 and proxy.sent("PATCH", PATCHES) == 2
    # Given up after the configured read timeout, not the default 30 s; then retried at once.
    assert READ_TIMEOUT - 0.1 <= proxy.retried_after(Fault.STALL) < READ_TIMEOUT + 3


@pytest.mark.parametrize("forwarded", [False, True], ids=["never-arrives", "answer-lost"])
def test_a_patch_that_stalls_every_time_is_reported_as_the_cluster_shows_it(
    deployed: str,
    kube_admin: k8s_client.ApiClient,
    faults: tuple[HttpFaults, Path],
    tmp_path: Path,
    forwarded: bool,
) -> None:
    proxy, kubeconfig = faults
    proxy.stall("PATCH", PATCHES, times=0, forever=True, forwarded=forwarded)

    code, targets = _restart(kubeconfig, deployed, tmp_path)

    assert proxy.sent("PATCH", PATCHES) == transport.ATTEMPTS  # bounded
    others = set(NAMES) - {VICTIM}
    assert {targets[n]["outcome"] for n in others} == {"restarted"}
    victim = targets[VICTIM]
    if forwarded:  # the server applied each patch; a re-read finds the stamp
        assert code == 0 and victim["outcome"] == "restarted", victim
        assert annotated(kube_admin, deployed) == set(NAMES)
    else:
        assert code == 3 and victim["outcome"] == "failed", victim
        assert "did not answer in time" in victim["detail"], victim
        assert annotated(kube_admin, deployed) == others
