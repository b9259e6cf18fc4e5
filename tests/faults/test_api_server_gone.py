"""The API server gone mid-run: `restart --wait` is following rollouts that will not finish
when every connection to the server is dropped and new ones are refused (the fault proxy,
tests/support/faultproxy.py, stands in for the server stopping). The run ends with exit 1 or 3,
every target is in the report, and each one the cluster shows as restarted is reported as
restarted-but-not-followed, never as untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client as k8s_client

from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import polling
from tests.support.faultproxy import FaultProxy, Mode

pytestmark = pytest.mark.kube
IMAGE = "registry.example.com/team/api:1.4.2"
NAMES = ("slow-0", "slow-1", "slow-2")
REPO = Path(__file__).resolve().parents[2]


def _annotated(api: k8s_client.ApiClient, namespace: str) -> set[str]:
    apps = k8s_client.AppsV1Api(api)
    return {
        name
        for name in NAMES
        if (apps.read_namespaced_deployment(name, namespace).spec.template.metadata.annotations
            or {}).get("kubectl.kubernetes.io/restartedAt")
    }  # fmt: skip


def test_the_server_going_away_mid_wait_ends_the_run_with_an_accurate_report(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient,
    tmp_path: Path,
) -> None:  # fmt: skip
    for name in NAMES:  # never ready: the rollout cannot finish, so --wait is still following
        objects.deployment(kube_admin, kube_namespace, name, IMAGE, never_ready=True)
    with FaultProxy.for_plane(control_plane) as proxy:
        kubeconfig = proxy.kubeconfig(control_plane, tmp_path / "proxy.kubeconfig")
        argv = [sys.executable, "-m", "commands.cli.main", "restart",
                *(f"deployment/{n}" for n in NAMES), "-n", kube_namespace, "--wait",
                "--timeout", "60s", "-o", "json", "--kubeconfig", str(kubeconfig)]  # fmt: skip
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
        run = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        try:
            polling.wait_until(
                lambda: _annotated(kube_admin, kube_namespace) == set(NAMES),
                timeout=60, what="every target patched",
            )  # fmt: skip
            proxy.drop_all(then=Mode.REFUSE)
            out, _ = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert run.returncode in (1, 3), out
    report = json.loads(out)
    targets = {t["name"]: t for t in report["targets"]}
    assert set(targets) == set(NAMES), "no target lost from the report"
    for name in _annotated(kube_admin, kube_namespace):
        target = targets[name]
        assert target["outcome"] in ("failed", "restarted"), target
        if target["outcome"] == "failed":
            assert "restarted" in target["detail"], target  # patched, then not followed
