"""Smoke tests for the test control plane: it answers, rollouts complete, RBAC is enforced.

If these fail, every other @pytest.mark.kube test is meaningless, so they run first (-x).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.support import controlplane as cp
from tests.support import fake_kubelet, manifests, polling

pytestmark = pytest.mark.kube

REPO_ROOT = Path(__file__).resolve().parents[2]


def rollout_complete(d: k8s_client.V1Deployment) -> bool:
    """kubectl rollout status's rule for Deployments."""
    s, want = d.status, d.spec.replicas
    return bool(
        s.observed_generation is not None
        and s.observed_generation >= d.metadata.generation
        and (s.updated_replicas or 0) == want
        and (s.replicas or 0) == want
        and (s.available_replicas or 0) == want
    )


def test_api_server_answers_readyz(control_plane: cp.ControlPlane) -> None:
    r = control_plane.session().get(f"{control_plane.server}/readyz", timeout=10)
    assert r.status_code == 200
    assert r.text == "ok"


def test_fake_node_is_registered_and_ready(kube_admin: k8s_client.ApiClient) -> None:
    core = k8s_client.CoreV1Api(kube_admin)

    def ready() -> bool:
        node = core.read_node(fake_kubelet.NODE_NAME)
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    polling.wait_until(ready, timeout=30)


def test_deployment_with_two_replicas_becomes_available(
    kube_admin: k8s_client.ApiClient, kube_namespace: str
) -> None:
    apps = k8s_client.AppsV1Api(kube_admin)
    apps.create_namespaced_deployment(kube_namespace, manifests.deployment("web", replicas=2))
    polling.wait_until(
        lambda: rollout_complete(apps.read_namespaced_deployment("web", kube_namespace))
    )

    # A restart (what myctl does) rolls out to completion too, and old pods drain.
    patch = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01"}}
            }
        }
    }
    apps.patch_namespaced_deployment("web", kube_namespace, patch)

    def restarted() -> bool:
        d = apps.read_namespaced_deployment("web", kube_namespace)
        pods = k8s_client.CoreV1Api(kube_admin).list_namespaced_pod(kube_namespace).items
        return rollout_complete(d) and len(pods) == 2

    polling.wait_until(restarted)


def test_never_ready_deployment_does_not_become_available(
    kube_admin: k8s_client.ApiClient, kube_namespace: str
) -> None:
    apps = k8s_client.AppsV1Api(kube_admin)
    core = k8s_client.CoreV1Api(kube_admin)
    labels = {fake_kubelet.NEVER_READY_LABEL: "true"}
    apps.create_namespaced_deployment(
        kube_namespace, manifests.deployment("stuck", pod_labels=labels)
    )

    def running_pods() -> list[k8s_client.V1Pod]:
        pods = core.list_namespaced_pod(kube_namespace).items
        return [p for p in pods if p.status.phase == "Running" and p.spec.node_name]

    # Bound and Running proves the fake kubelet handled it; it must still not be Ready.
    pod = polling.wait_until(running_pods)[0]
    assert any(c.type == "Ready" and c.status == "False" for c in pod.status.conditions)
    d = apps.read_namespaced_deployment("stuck", kube_namespace)
    assert not rollout_complete(d)
    assert not d.status.available_replicas


def test_service_account_without_rbac_cannot_list_secrets(
    control_plane: cp.ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    path = control_plane.service_account_kubeconfig(kube_namespace, "nobody", tmp_path / "kc")
    api = k8s_config.new_client_from_config(config_file=str(path))
    with pytest.raises(k8s_client.ApiException) as exc:
        k8s_client.CoreV1Api(api).list_namespaced_secret(kube_namespace)
    assert exc.value.status == 403
    # Authenticated as the ServiceAccount (403, not 401): the token itself is valid.
    assert f"system:serviceaccount:{kube_namespace}:nobody" in exc.value.body


def test_deploy_rbac_grants_exactly_what_the_bot_needs(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    for name in ("namespace.yaml", "rbac.yaml"):
        control_plane.apply_manifest_file(REPO_ROOT / "deploy" / "base" / name)
    path = control_plane.service_account_kubeconfig("myctl", "myctl")
    api = k8s_config.new_client_from_config(config_file=str(path))
    apps = k8s_client.AppsV1Api(api)
    assert apps.list_deployment_for_all_namespaces().items is not None
    with pytest.raises(k8s_client.ApiException) as exc:
        k8s_client.CoreV1Api(api).list_namespaced_secret("myctl")
    assert exc.value.status == 403
    with pytest.raises(k8s_client.ApiException) as exc:
        apps.delete_namespaced_deployment("anything", kube_namespace)
    assert exc.value.status == 403


def test_apply_objects_replaces_existing_objects(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": kube_namespace},
        "data": {"v": "1"},
    }
    control_plane.apply_objects([cm])
    control_plane.apply_objects([{**cm, "data": {"v": "2"}}])
    got = control_plane.request("GET", f"/api/v1/namespaces/{kube_namespace}/configmaps/c")
    assert got["data"] == {"v": "2"}
    with pytest.raises(requests.HTTPError):
        control_plane.request("GET", f"/api/v1/namespaces/{kube_namespace}/configmaps/missing")


def test_statefulset_and_daemonset_pods_become_ready(
    kube_admin: k8s_client.ApiClient, kube_namespace: str
) -> None:
    apps = k8s_client.AppsV1Api(kube_admin)
    template = manifests.deployment("x", replicas=2)["spec"]
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {**template, "serviceName": "db"},
    }
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {k: v for k, v in template.items() if k != "replicas"},
    }
    apps.create_namespaced_stateful_set(kube_namespace, sts)
    apps.create_namespaced_daemon_set(kube_namespace, ds)

    def sts_ready() -> bool:
        s = apps.read_namespaced_stateful_set("db", kube_namespace).status
        return (s.ready_replicas or 0) == 2 and (s.available_replicas or 0) == 2

    def ds_ready() -> bool:
        s = apps.read_namespaced_daemon_set("agent", kube_namespace).status
        return s.desired_number_scheduled == 1 and (s.number_available or 0) == 1

    polling.wait_until(sts_ready)
    polling.wait_until(ds_ready)
