"""The one Deployment manifest builder for tests and benchmarks (a plain dict, as kubectl takes).

Every caller names only what it cares about; the rest is the smallest valid Deployment: one
replica, a selector on `app: NAME`, one container `app` running `image`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The fake kubelet (tests/support/fake_kubelet.py) never makes pods with this label Ready.
NEVER_READY = {"myctl.test/never-ready": "true"}


def deployment(
    name: str,
    image: str = "nginx:1.27",
    *,
    namespace: str | None = None,
    replicas: int = 1,
    paused: bool = False,
    never_ready: bool = False,
    labels: Mapping[str, str] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    pull: str | None = None,
    progress_deadline: int | None = None,
    containers: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """`labels` go on the Deployment, `pod_labels` on its pods (besides `app: NAME`);
    `containers` as (name, image) pairs replaces the one `app` container; `pull` is every
    container's imagePullPolicy (the API server's default when None)."""
    selector = {"app": name}
    pods = {**selector, **(pod_labels or {}), **(NEVER_READY if never_ready else {})}
    specs = []
    for container, container_image in containers or [("app", image)]:
        spec: dict[str, Any] = {"name": container, "image": container_image}
        if pull is not None:
            spec["imagePullPolicy"] = pull
        specs.append(spec)
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    body: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "template": {"metadata": {"labels": pods}, "spec": {"containers": specs}},
    }
    if paused:
        body["paused"] = True
    if progress_deadline is not None:
        body["progressDeadlineSeconds"] = progress_deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": body}
