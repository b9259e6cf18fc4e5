"""The fake kubelet pulls like a kubelet: pull policies, per-node caches, and the digests
pods report, against the real control plane and the real registry.

What these prove is what verified rollouts rely on (docs/control-plane.md, "Fake nodes and
image pulls"): a restart with `Always` runs a re-pushed tag's new digest, `IfNotPresent`
keeps a node's cached digest, a digest reference runs exactly that digest.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import controlplane as cp
from tests.support import fake_images, fake_kubelet, polling
from tests.support import registry as reg

pytestmark = pytest.mark.kube

NODES = (fake_kubelet.NODE_NAME, f"{fake_kubelet.NODE_NAME}-b")


def _deployment(name: str, image: str, policy: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "app", "image": image, "imagePullPolicy": policy}]
                },
            },
        },
    }


def _deploy(plane: cp.ControlPlane, ns: str, name: str, image: str, policy: str) -> None:
    obj = _deployment(name, image, policy)
    obj["metadata"]["namespace"] = ns
    plane.apply_objects([obj])


def _live_pods(plane: cp.ControlPlane, ns: str, name: str) -> list[dict[str, Any]]:
    body = plane.request("GET", f"/api/v1/namespaces/{ns}/pods", labelSelector=f"app={name}")
    return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp")]


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[0])


def _digest(pod: dict[str, Any]) -> str:
    """The digest in imageID, in either runtime's form (what myctl must normalize too)."""
    return str(_container(pod).get("imageID", "")).rpartition("@")[2]


def _running(
    plane: cp.ControlPlane, ns: str, name: str, count: int = 2, restarted: str | None = None
) -> list[dict[str, Any]]:
    """Wait for `count` live pods (of the restart stamped `restarted`, if given) whose
    containers run; return them."""

    def ready() -> list[dict[str, Any]] | None:
        pods = _live_pods(plane, ns, name)
        if restarted is not None:
            pods = [
                p
                for p in pods
                if (p["metadata"].get("annotations") or {}).get(_RESTARTED_AT) == restarted
            ]
        if len(pods) == count and all("running" in _container(p).get("state", {}) for p in pods):
            return pods
        return None

    pods: list[dict[str, Any]] = polling.wait_until(ready, 60, f"{count} running pods of {name}")
    return pods


_RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _restart(plane: cp.ControlPlane, ns: str, name: str) -> str:
    """A rollout restart as kubectl does it: a new template annotation, hence new pods."""
    stamp = datetime.now(UTC).isoformat() + uuid.uuid4().hex[:6]
    patch = {"spec": {"template": {"metadata": {"annotations": {_RESTARTED_AT: stamp}}}}}
    plane.session().patch(
        f"{plane.server}/apis/apps/v1/namespaces/{ns}/deployments/{name}",
        json=patch,
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=30,
    ).raise_for_status()
    return stamp


def _by_node(pods: list[dict[str, Any]]) -> dict[str, str]:
    return {p["spec"]["nodeName"]: _digest(p) for p in pods}


def _repo() -> str:
    return f"harness/app-{uuid.uuid4().hex[:8]}"


def test_two_replicas_land_on_two_nodes_with_both_runtimes_imageid_forms(
    control_plane: cp.ControlPlane, fake_kubelet: fake_kubelet.FakeKubelet, kube_namespace: str
) -> None:
    image = f"registry.example.com/harness/spread-{uuid.uuid4().hex[:6]}:1"
    _deploy(control_plane, kube_namespace, "spread", image, "IfNotPresent")
    pods = _running(control_plane, kube_namespace, "spread")
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(NODES)
    digest = fake_kubelet.remote_digest(image)
    repo = image.rpartition(":")[0]
    ids = {p["spec"]["nodeName"]: _container(p) for p in pods}
    assert ids[NODES[0]]["imageID"] == f"{repo}@{digest}"  # containerd
    assert ids[NODES[1]]["imageID"] == f"docker-pullable://{repo}@{digest}"  # docker
    assert ids[NODES[0]]["containerID"].startswith("containerd://")
    assert ids[NODES[1]]["containerID"].startswith("docker://")
    for status in ids.values():
        assert (status["image"], status["ready"], status["started"]) == (image, True, True)


def test_always_runs_the_pushed_digest_and_a_restart_after_a_repush_runs_the_new_one(
    control_plane: cp.ControlPlane,
    fake_kubelet: fake_kubelet.FakeKubelet,
    registry: reg.LocalRegistry,
    kube_namespace: str,
) -> None:
    repo = _repo()
    first = registry.push_image(repo, "v1", seed="first")
    _deploy(control_plane, kube_namespace, "web", registry.ref(repo, "v1"), "Always")
    before = _running(control_plane, kube_namespace, "web")
    assert {_digest(p) for p in before} == {first}

    second = registry.push_image(repo, "v1", seed="second")
    stamp = _restart(control_plane, kube_namespace, "web")
    after = _running(control_plane, kube_namespace, "web", restarted=stamp)
    assert {_digest(p) for p in after} == {second}
    assert {p["metadata"]["name"] for p in after}.isdisjoint(p["metadata"]["name"] for p in before)
    key = fake_images.normalize(registry.ref(repo, "v1")).key
    assert [fake_kubelet.node_cache(n)[key] for n in NODES] == [second, second]


def test_if_not_present_keeps_a_nodes_cached_digest_and_pulls_on_the_other_node(
    control_plane: cp.ControlPlane,
    fake_kubelet: fake_kubelet.FakeKubelet,
    registry: reg.LocalRegistry,
    kube_namespace: str,
) -> None:
    repo = _repo()
    old = registry.push_image(repo, "v1", seed="old")
    new = registry.push_image(repo, "v1", seed="new")
    fake_kubelet.seed_cache(NODES[0], registry.ref(repo, "v1"), old)
    _deploy(control_plane, kube_namespace, "api", registry.ref(repo, "v1"), "IfNotPresent")
    pods = _running(control_plane, kube_namespace, "api")
    assert _by_node(pods) == {NODES[0]: old, NODES[1]: new}

    # The cached-tag pitfall: a restart does not help the node that cached the tag.
    stamp = _restart(control_plane, kube_namespace, "api")
    restarted = _running(control_plane, kube_namespace, "api", restarted=stamp)
    assert _by_node(restarted) == {NODES[0]: old, NODES[1]: new}


def test_a_digest_reference_runs_exactly_that_digest(
    control_plane: cp.ControlPlane, registry: reg.LocalRegistry, kube_namespace: str
) -> None:
    repo = _repo()
    pinned = registry.push_image(repo, "v1", seed="pinned")
    registry.push_image(repo, "v1", seed="later")  # the tag has moved on
    image = registry.ref(repo, "v1", digest=pinned)
    _deploy(control_plane, kube_namespace, "pin", image, "Always")
    pods = _running(control_plane, kube_namespace, "pin")
    assert {_digest(p) for p in pods} == {pinned}


def test_a_multi_arch_tag_reports_the_index_digest(
    control_plane: cp.ControlPlane, registry: reg.LocalRegistry, kube_namespace: str
) -> None:
    repo = _repo()
    index, _platforms = registry.push_index(repo, "v1", seed="multi")
    _deploy(control_plane, kube_namespace, "multi", registry.ref(repo, "v1"), "Always")
    pods = _running(control_plane, kube_namespace, "multi")
    assert {_digest(p) for p in pods} == {index}


def _waiting(plane: cp.ControlPlane, ns: str, name: str) -> list[dict[str, Any]]:
    def waiting() -> list[dict[str, Any]] | None:
        pods = _live_pods(plane, ns, name)
        if len(pods) == 2 and all("waiting" in _container(p).get("state", {}) for p in pods):
            return pods
        return None

    pods: list[dict[str, Any]] = polling.wait_until(waiting, 60, f"waiting pods of {name}")
    return pods


def _not_ready(pod: dict[str, Any]) -> bool:
    conds = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    return bool(conds["Ready"] == "False" and pod["status"]["phase"] == "Pending")


def test_never_without_a_cached_image_waits_with_err_image_never_pull(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    image = f"registry.example.com/harness/never-{uuid.uuid4().hex[:6]}:1"
    _deploy(control_plane, kube_namespace, "never", image, "Never")
    for pod in _waiting(control_plane, kube_namespace, "never"):
        status = _container(pod)
        assert status["state"]["waiting"]["reason"] == "ErrImageNeverPull"
        assert (status["imageID"], status["ready"]) == ("", False)
        assert _not_ready(pod)


def test_a_tag_the_registry_does_not_have_waits_with_err_image_pull(
    control_plane: cp.ControlPlane, registry: reg.LocalRegistry, kube_namespace: str
) -> None:
    _deploy(control_plane, kube_namespace, "gone", registry.ref(_repo(), "missing"), "Always")
    for pod in _waiting(control_plane, kube_namespace, "gone"):
        assert _container(pod)["state"]["waiting"]["reason"] == "ErrImagePull"
        assert _container(pod)["imageID"] == ""
        assert _not_ready(pod)


def test_moving_a_synthetic_tag_changes_what_new_pods_run_and_old_pods_keep_theirs(
    control_plane: cp.ControlPlane, fake_kubelet: fake_kubelet.FakeKubelet, kube_namespace: str
) -> None:
    image = f"registry.example.com/harness/moved-{uuid.uuid4().hex[:6]}:1"
    start = fake_kubelet.remote_digest(image)
    _deploy(control_plane, kube_namespace, "moved", image, "Always")
    before = _running(control_plane, kube_namespace, "moved")
    assert {_digest(p) for p in before} == {start}

    moved = fake_kubelet.move_tag(image)
    assert moved != start and fake_kubelet.remote_digest(image) == moved
    stamp = _restart(control_plane, kube_namespace, "moved")
    after = _running(control_plane, kube_namespace, "moved", restarted=stamp)
    assert {_digest(p) for p in after} == {moved}


def test_a_tag_moved_from_another_process_is_seen_at_pull_time(
    control_plane: cp.ControlPlane, fake_kubelet: fake_kubelet.FakeKubelet
) -> None:
    """scripts/kube-local runs the kubelet as a process: moves go through the cluster."""
    image = f"registry.example.com/harness/cli-{uuid.uuid4().hex[:6]}:1"
    kubeconfig = str(control_plane.kubeconfig)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.fake_kubelet",
            "--kubeconfig",
            kubeconfig,
            "--move-tag",
            image,
        ],
        cwd=cp.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    printed = proc.stdout.strip()
    assert printed.startswith("sha256:")
    assert fake_kubelet.remote_digest(image) == printed
    assert printed != fake_images.synthetic_digest(fake_images.normalize(image).key)


def test_a_daemonset_runs_on_the_first_node_unless_it_tolerates_the_taint(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    def daemonset(name: str, tolerate: bool) -> dict[str, Any]:
        obj = _deployment(name, "registry.example.com/harness/agent:1", "IfNotPresent")
        del obj["spec"]["replicas"]
        obj["kind"] = "DaemonSet"
        obj["metadata"]["namespace"] = kube_namespace
        if tolerate:
            toleration = {"key": fake_kubelet.DAEMONSET_TAINT, "operator": "Exists"}
            obj["spec"]["template"]["spec"]["tolerations"] = [toleration]
        return obj

    control_plane.apply_objects([daemonset("one", False), daemonset("all", True)])
    everywhere = _running(control_plane, kube_namespace, "all", count=2)
    assert sorted(p["spec"]["nodeName"] for p in everywhere) == sorted(NODES)
    only = _running(control_plane, kube_namespace, "one", count=1)
    assert only[0]["spec"]["nodeName"] == NODES[0]
