"""Create test workloads on the real control plane with the official client (admin identity)."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s_client

from commands.values import images
from tests.support import controlplane as cp
from tests.support import manifests, polling

NEVER_READY = manifests.NEVER_READY


def _template(name: str, image: str, labels: dict[str, str], pull: str | None) -> dict[str, Any]:
    container = {"name": name, "image": image}
    if pull is not None:  # None: leave it to the API server's default, as most people do
        container["imagePullPolicy"] = pull
    return {"metadata": {"labels": {"app": name, **labels}}, "spec": {"containers": [container]}}


def deployment(
    api: k8s_client.ApiClient,
    namespace: str,
    name: str,
    image: str,
    *,
    replicas: int = 1,
    paused: bool = False,
    never_ready: bool = False,
    labels: dict[str, str] | None = None,
    pull: str | None = "Always",
    progress_deadline: int | None = None,
) -> None:
    body = manifests.deployment(
        name,
        image,
        replicas=replicas,
        paused=paused,
        never_ready=never_ready,
        labels=labels,
        pod_labels=labels,
        pull=pull,
        progress_deadline=progress_deadline,
        containers=[(name, image)],
    )
    k8s_client.AppsV1Api(api).create_namespaced_deployment(namespace, body)


def statefulset(api: k8s_client.ApiClient, namespace: str, name: str, image: str) -> None:
    k8s_client.AppsV1Api(api).create_namespaced_stateful_set(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "serviceName": name,
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, image, {}, "Always"),
            },
        },
    )


def daemonset(api: k8s_client.ApiClient, namespace: str, name: str, image: str) -> None:
    k8s_client.AppsV1Api(api).create_namespaced_daemon_set(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, image, {}, "Always"),
            },
        },
    )


def deployment_available(api: k8s_client.ApiClient, namespace: str, name: str) -> bool:
    obj = k8s_client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    status = obj.status
    return bool(
        status.observed_generation == obj.metadata.generation
        and (status.available_replicas or 0) == obj.spec.replicas
        and (status.updated_replicas or 0) == obj.spec.replicas
    )


def running(api: k8s_client.ApiClient, namespace: str, names: tuple[str, ...], image: str) -> None:
    """Deployments `names` of `image`, each waited for until its first rollout is over."""
    for name in names:
        deployment(api, namespace, name, image)
    for name in names:
        polling.wait_until(
            lambda name=name: deployment_available(api, namespace, name),  # type: ignore[misc]
            what=f"{namespace}/{name} available",
        )


def pods_digests(control_plane: cp.ControlPlane, namespace: str, app: str) -> dict[str, str]:
    """{pod name: digest} of the not terminating pods of `app`."""
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
    """Wait until deployment `name` runs `n` ready, updated pods that all report a digest."""

    def settled() -> bool:
        obj = control_plane.request(
            "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        )
        status = obj.get("status", {})
        digests = pods_digests(control_plane, namespace, name)
        return (
            status.get("observedGeneration") == obj["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("readyReplicas") == n
            and status.get("replicas") == n
            and len(digests) == n
            and all(digests.values())
        )

    polling.wait_until(settled, timeout=30, what=f"{namespace}/{name} to run {n} ready pods")
