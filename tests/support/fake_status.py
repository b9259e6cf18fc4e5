"""The statuses the fake kubelet writes: a Node's, and a pod's with its containerStatuses.

Split from tests/support/fake_kubelet.py (which places pods, pulls and talks to the API) so
each module stays one thing. Pure functions: the pull is passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.support import fake_images

# (image, imagePullPolicy) → digest, or raises fake_images.PullError.
Pull = Callable[[str, str | None], str]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_status(name: str, runtime: str) -> dict[str, Any]:
    """A Ready node's status, heartbeat times now."""
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "1000", "ephemeral-storage": "100Gi"}
    now = _now()

    def cond(kind: str, status: str, reason: str) -> dict[str, str]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": "fake kubelet",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    return {
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": [
            cond("Ready", "True", "KubeletReady"),
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": name},
        ],
        "nodeInfo": {
            "kubeletVersion": "v0.0.0-fake",
            "containerRuntimeVersion": f"{runtime}://0.0.0-fake",
            "operatingSystem": "linux",
            "architecture": "amd64",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": "",
            "osImage": "fake",
            "kubeProxyVersion": "",
        },
    }


def container_status(
    pod: dict[str, Any],
    c: dict[str, Any],
    old: dict[str, Any],
    ready: bool,
    runtime: str,
    pull: Pull,
) -> dict[str, Any]:
    """One container's status: kept once it runs, else pulled now (running or waiting)."""
    image = c.get("image", "")
    if "running" in (old.get("state") or {}) and old.get("imageID") and old.get("image") == image:
        return {**old, "ready": ready}  # a started container keeps its digest
    status: dict[str, Any] = {
        "name": c["name"],
        "image": image,
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": 0,
    }
    try:
        digest = pull(image, c.get("imagePullPolicy"))
    except fake_images.PullError as exc:
        status["state"] = {"waiting": {"reason": exc.reason, "message": exc.message}}
        return status
    ref = fake_images.normalize(image)
    if runtime == "docker":
        image_id = f"docker-pullable://{ref.familiar}@{digest}"
    else:
        image_id = f"{ref.repository}@{digest}"
    cid = hashlib.sha256(f"{pod['metadata']['uid']}/{c['name']}".encode()).hexdigest()
    status.update(
        imageID=image_id,
        containerID=f"{runtime}://{cid}",
        ready=ready,
        started=True,
        state={"running": {"startedAt": _now()}},
    )
    return status


def pod_status(
    pod: dict[str, Any], ready: bool, runtime: str, pull: Pull, next_ip: Callable[[], str]
) -> dict[str, Any] | None:
    """The status to write, or None when the pod already has it (no patch, no event)."""
    current = pod.get("status") or {}
    old = {s["name"]: s for s in current.get("containerStatuses") or []}
    containers = [
        container_status(pod, c, old.get(c["name"], {}), ready, runtime, pull)
        for c in pod["spec"].get("containers", [])
    ]
    running = all("running" in s["state"] for s in containers)
    pod_ready = ready and running
    flag = "True" if pod_ready else "False"
    phase = "Running" if running else "Pending"

    def signature(phase: str, ready_flag: str, statuses: list[dict[str, Any]]) -> Any:
        # The state's kind and reason, not its message: a retried pull that fails the
        # same way must not patch (and wake every watcher) once a second.
        def one(s: dict[str, Any]) -> tuple[Any, ...]:
            state = s.get("state") or {}
            kind = next(iter(state), "")
            reason = (state.get(kind) or {}).get("reason", "")
            return (
                s.get("name"),
                s.get("image"),
                s.get("imageID"),
                s.get("ready"),
                kind,
                reason,
            )

        return (phase, ready_flag, [one(s) for s in statuses])

    conds = {c["type"]: c["status"] for c in current.get("conditions") or []}
    now_sig = signature(current.get("phase", ""), conds.get("Ready", ""), list(old.values()))
    if now_sig == signature(phase, flag, containers):
        return None
    now = _now()

    def cond(kind: str, status: str) -> dict[str, str]:
        return {"type": kind, "status": status, "lastTransitionTime": now}

    ip = current.get("podIP")
    if not ip:
        ip = next_ip()
    return {
        "phase": phase,
        "hostIP": "127.0.0.1",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": current.get("startTime") or now,
        "conditions": [
            cond("PodScheduled", "True"),
            cond("Initialized", "True"),
            cond("ContainersReady", flag),
            cond("Ready", flag),
        ],
        "containerStatuses": containers,
    }
