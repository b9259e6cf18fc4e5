"""Truthful, verified rollouts against the real API server, the local registry and the fake
kubelet's nodes, which cache images and pull per imagePullPolicy as a kubelet does."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client

from commands.cli import main, parser
from commands.engine import restart
from commands.engine.context import Engine
from commands.kube import client
from commands.values import images, requests, workloads
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import fake_kubelet as kubelet_mod
from tests.support import polling
from tests.support import registry as reg

pytestmark = pytest.mark.kube
NODES = ("fake-node", "fake-node-b")


def myctl(control_plane: cp.ControlPlane, namespace: str, *args: str) -> tuple[Result, Any]:
    """The real CLI with `-o json` (given after the subcommand, as users do)."""
    argv = [*args, "-n", namespace, "--cache-namespace", namespace, "-o", "json"]
    argv += ["--kubeconfig", str(control_plane.kubeconfig)]
    runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False)
    result = CliRunner().invoke(parser.cli, argv, obj=runtime)
    return result, json.loads(result.output)


def targets(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in payload["restart"]["targets"]}


def pods_digests(control_plane: cp.ControlPlane, namespace: str, app: str) -> dict[str, str]:
    """{pod name: digest} of the Ready, not terminating pods of `app`."""
    pods = control_plane.request(
        "GET", f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"app={app}"
    )["items"]
    return {
        p["metadata"]["name"]: images.digest_of_image_id(c.get("imageID", "")) or ""
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        for c in p.get("status", {}).get("containerStatuses") or []
    }


def rollout_settled(control_plane: cp.ControlPlane, namespace: str, name: str, n: int) -> None:
    def settled() -> bool:
        obj = control_plane.request(
            "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        )
        status = obj.get("status", {})
        return (
            status.get("observedGeneration") == obj["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("readyReplicas") == n
            and status.get("replicas") == n
            and len(pods_digests(control_plane, namespace, name)) == n
            and all(pods_digests(control_plane, namespace, name).values())
        )

    polling.wait_until(settled, timeout=30, what=f"{namespace}/{name} to run {n} ready pods")


@pytest.fixture
def pushed(registry: reg.LocalRegistry, control_plane: cp.ControlPlane) -> tuple[str, str]:
    """A tag on the local registry and its first digest."""
    repo = f"team/{control_plane.unique_name('api')}"
    return registry.ref(repo, "1.0"), registry.push_image(repo, "1.0", seed="v1")


def _repush(registry: reg.LocalRegistry, image: str, seed: str) -> str:
    repo, tag = image.split("/", 1)[1].rsplit(":", 1)
    return registry.push_image(repo, tag, seed=seed)


def test_default_pull_policy_and_a_re_pushed_tag_is_exit_1_and_patches_nothing(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    pushed: tuple[str, str],
) -> None:
    image, _v1 = pushed
    for name in ("web", "api"):
        objects.deployment(kube_admin, kube_namespace, name, image, replicas=2, pull=None)
        rollout_settled(control_plane, kube_namespace, name, 2)
    _repush(registry, image, "v2")
    before = {
        name: control_plane.request(
            "GET", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/{name}"
        )["metadata"]["resourceVersion"]
        for name in ("web", "api")
    }
    result, payload = myctl(control_plane, kube_namespace, "orchestrate", "--image", image)
    assert result.exit_code == 1
    assert {t["outcome"] for t in targets(payload).values()} == {"stale-pull"}
    advice = " ".join(payload["restart"]["advice"])
    assert f"{kube_namespace}/deployment/web (IfNotPresent)" in advice
    assert "--pin-digest" in advice and "imagePullPolicy: Always" in advice
    for name, version in before.items():
        obj = control_plane.request(
            "GET", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/{name}"
        )
        assert obj["metadata"]["resourceVersion"] == version  # nothing patched


def test_expected_digest_pinned_runs_on_every_node(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    fake_kubelet: kubelet_mod.FakeKubelet,
    pushed: tuple[str, str],
) -> None:
    image, v1 = pushed
    objects.deployment(kube_admin, kube_namespace, "web", image, replicas=4, pull=None)
    rollout_settled(control_plane, kube_namespace, "web", 4)
    v2 = _repush(registry, image, "v2")
    args = ("orchestrate", "--image", image, "--expect-digest", v2, "--pin-digest", "--wait")
    result, payload = myctl(control_plane, kube_namespace, *args)
    assert result.exit_code == 0, result.output
    web = targets(payload)["web"]
    assert (web["verified"], web["digests_before"], web["digests_after"]) == ("updated", [v1], [v2])
    assert set(pods_digests(control_plane, kube_namespace, "web").values()) == {v2}
    pods = control_plane.request("GET", f"/api/v1/namespaces/{kube_namespace}/pods")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == set(NODES)  # both nodes pulled it
    spec = control_plane.request(
        "GET", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web"
    )["spec"]["template"]["spec"]["containers"][0]
    assert spec["image"] == f"{image}@{v2}"


def test_allow_stale_pull_where_a_node_cached_the_old_digest_is_unchanged(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    pushed: tuple[str, str],
) -> None:
    image, v1 = pushed
    objects.deployment(kube_admin, kube_namespace, "web", image, replicas=2, pull=None)
    rollout_settled(control_plane, kube_namespace, "web", 2)  # both nodes cache v1 now
    _repush(registry, image, "v2")
    args = ("orchestrate", "--image", image, "--allow-stale-pull", "--wait")
    result, payload = myctl(control_plane, kube_namespace, *args)
    assert result.exit_code == 1
    web = targets(payload)["web"]
    assert (web["outcome"], web["verified"], web["digests_after"]) == (
        "unchanged",
        "unchanged",
        [v1],
    )


def test_pull_always_re_pushed_is_updated_and_not_re_pushed_is_unchanged(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    pushed: tuple[str, str],
) -> None:
    image, v1 = pushed
    objects.deployment(kube_admin, kube_namespace, "web", image, replicas=2, pull="Always")
    rollout_settled(control_plane, kube_namespace, "web", 2)
    v2 = _repush(registry, image, "v2")
    result, payload = myctl(
        control_plane, kube_namespace, "orchestrate", "--image", image, "--wait"
    )
    assert result.exit_code == 0, result.output
    web = targets(payload)["web"]
    assert (web["verified"], web["digests_before"], web["digests_after"]) == ("updated", [v1], [v2])
    again, payload = myctl(control_plane, kube_namespace, "orchestrate", "--image", image, "--wait")
    assert again.exit_code == 1
    assert targets(payload)["web"]["verified"] == "unchanged"


def test_expected_digest_restarts_only_the_behind_half_then_nothing(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    pushed: tuple[str, str],
) -> None:
    image, _v1 = pushed
    for name in ("a", "b", "c", "d"):
        objects.deployment(kube_admin, kube_namespace, name, image, pull="Always")
    for name in ("a", "b", "c", "d"):
        rollout_settled(control_plane, kube_namespace, name, 1)  # all pulled v1
    v2 = _repush(registry, image, "v2")
    for name in ("a", "b"):  # half already roll out v2
        result, _ = myctl(control_plane, kube_namespace, "restart", f"deployment/{name}", "--wait")
        assert result.exit_code == 0, result.output
    args = ("orchestrate", "--image", image, "--expect-digest", v2, "--wait")
    result, payload = myctl(control_plane, kube_namespace, *args)
    assert result.exit_code == 0, result.output
    assert {n: t["outcome"] for n, t in targets(payload).items()} == {
        "a": "up-to-date",
        "b": "up-to-date",
        "c": "restarted",
        "d": "restarted",
    }
    again, payload = myctl(control_plane, kube_namespace, *args)
    assert again.exit_code == 0
    assert {t["outcome"] for t in targets(payload).values()} == {"up-to-date"}


def test_a_paused_deployment_beside_an_updated_one_is_partial(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    pushed: tuple[str, str],
) -> None:
    image, _v1 = pushed
    objects.deployment(kube_admin, kube_namespace, "web", image, pull="Always")
    objects.deployment(kube_admin, kube_namespace, "frozen", image, pull=None, paused=True)
    rollout_settled(control_plane, kube_namespace, "web", 1)
    _repush(registry, image, "v2")
    result, payload = myctl(
        control_plane, kube_namespace, "orchestrate", "--image", image, "--wait"
    )
    assert result.exit_code == 3
    assert "paused" in targets(payload)["frozen"]["detail"]
    assert targets(payload)["web"]["verified"] == "updated"


def test_wait_notices_completion_within_a_second_with_requests_that_do_not_grow(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "slow", "nginx:1.27", never_ready=True)
    ref = workloads.WorkloadRef(workloads.Kind.DEPLOYMENT, kube_namespace, "slow")
    cluster = client.connect(str(control_plane.kubeconfig), None)
    engine = Engine(cluster=cluster)
    done: dict[str, Any] = {}

    def run() -> None:
        options = requests.RestartOptions(wait=True, timeout_seconds=60)
        done["result"] = restart.run(engine, restart.Request((ref,), options=options))
        done["at"] = time.monotonic()

    worker = threading.Thread(target=run)
    worker.start()

    def new_pod() -> str | None:
        pods = control_plane.request(
            "GET", f"/api/v1/namespaces/{kube_namespace}/pods", labelSelector="app=slow"
        )["items"]
        fresh = [
            p
            for p in pods
            if "kubectl.kubernetes.io/restartedAt" in (p["metadata"].get("annotations") or {})
        ]
        return fresh[0]["metadata"]["name"] if fresh else None

    name = polling.wait_until(new_pod, timeout=30, what="the restarted pod")
    requests_while_waiting = cluster.requests
    # Not waiting for a condition: four idle seconds during which a poller would have sent
    # two requests and a watch sends none.
    time.sleep(4)
    assert cluster.requests == requests_while_waiting
    released = time.monotonic()
    k8s_client.CoreV1Api(kube_admin).patch_namespaced_pod(
        name, kube_namespace, {"metadata": {"labels": {kubelet_mod.NEVER_READY_LABEL: None}}}
    )
    worker.join(30)
    assert done["result"].exit_code == 0, done["result"].summary()
    noticed = done["at"] - released
    assert noticed < 1.0, f"noticed {noticed:.2f} s after the last pod could become ready"
    assert cluster.requests <= requests_while_waiting + 2  # the final pod read, at most a re-read
