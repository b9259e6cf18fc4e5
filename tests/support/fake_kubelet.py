"""A fake kubelet (and scheduler): pods become Running and Ready with no container runtime.

Why: the test control plane has no kubelet and no scheduler, yet myctl's `--wait` follows
rollouts with kubectl's rules, which only complete when ReplicaSets see available pods.
This loop does the minimum a kubelet would:

- registers Node `fake-node` (Ready, with allocatable capacity) and keeps its heartbeat fresh;
- binds unscheduled pods to it through the Binding subresource (DaemonSet pods too: they
  arrive with node affinity, not a nodeName, since the scheduler places them);
- marks bound pods Running with Ready/ContainersReady and ready containerStatuses, except
  pods labelled `myctl.test/never-ready: "true"`, which stay not Ready (stuck rollouts);
- finishes graceful deletions (delete with grace 0), as a kubelet does once containers stop,
  so old ReplicaSets drain and namespaces can be deleted.

Run as a thread (`FakeKubelet(...).start()` / `.stop()`) or as a process:
`python -m tests.support.fake_kubelet --kubeconfig PATH`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import signal
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml

NODE_NAME = "fake-node"
NEVER_READY_LABEL = "myctl.test/never-ready"
HEARTBEAT_SECONDS = 10.0  # well under the 40s node-monitor grace period kubectl shows as stale

log = logging.getLogger("fake_kubelet")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _session_from_kubeconfig(path: str) -> tuple[requests.Session, str]:
    """Turn a kubeconfig (client cert or token) into a requests session and server URL.

    Parsed by hand rather than with the kubernetes client so that `scripts/kube-local`
    can run this module with any python3 that has requests and PyYAML.
    """
    base = Path(path).resolve().parent
    doc = yaml.safe_load(Path(path).read_text())

    def named(section: str, name: str) -> dict[str, Any]:
        for item in doc.get(section) or []:
            if item["name"] == name:
                return dict(item[section[:-1]])
        raise ValueError(f"{path}: no {section[:-1]} named {name!r}")

    ctx = named("contexts", doc["current-context"])
    cluster, user = named("clusters", ctx["cluster"]), named("users", ctx["user"])

    def file_for(entry: dict[str, Any], key: str) -> str | None:
        if entry.get(f"{key}-data"):
            fd, tmp = tempfile.mkstemp(prefix="fake-kubelet-")
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(entry[f"{key}-data"]))
            return tmp
        return str(base / entry[key]) if entry.get(key) else None

    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`; no proxies for loopback
    ca = file_for(cluster, "certificate-authority")
    s.verify = False if cluster.get("insecure-skip-tls-verify") else (ca or True)
    cert, key = file_for(user, "client-certificate"), file_for(user, "client-key")
    if cert and key:
        s.cert = (cert, key)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (base / user["tokenFile"]).read_text().strip()
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s, str(cluster["server"]).rstrip("/")


class FakeKubelet:
    """Binds pods to fake-node and reports them Running/Ready; stoppable thread."""

    def __init__(self, kubeconfig: str, node_name: str = NODE_NAME) -> None:
        self.session, self.server = _session_from_kubeconfig(str(kubeconfig))
        self.node_name = node_name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pod_seq = 0
        self._last_heartbeat = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeKubelet:
        """Register the node, then run the loop in a daemon thread."""
        self.register_node()
        self._thread = threading.Thread(target=self.run, name="fake-kubelet", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop and wait for it (each watch lasts at most ~1s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """List-then-watch forever: a relist every second is cheap on a test cluster and
        makes the loop self-healing after any missed event or error."""
        while not self._stop.is_set():
            try:
                self._heartbeat_if_due()
                rv = self._sync_all()
                self._watch(rv)
            except Exception:  # keep serving: a transient API error must not kill the loop
                log.exception("fake kubelet loop error")
                self._stop.wait(0.5)

    # ------------------------------------------------------------------ API
    def _url(self, path: str) -> str:
        return self.server + path

    def _req(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 15)
        return self.session.request(method, self._url(path), **kw)

    def register_node(self) -> None:
        """Create (or refresh) the Node with Ready status and allocatable capacity."""
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
        }
        r = self._req("POST", "/api/v1/nodes", json=node)
        if r.status_code not in (201, 409):
            r.raise_for_status()
        self._heartbeat()

    def _node_status(self) -> dict[str, Any]:
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
                {"type": "Hostname", "address": self.node_name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v0.0.0-fake",
                "containerRuntimeVersion": "fake://0",
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

    def _heartbeat(self) -> None:
        r = self._req(
            "PATCH",
            f"/api/v1/nodes/{self.node_name}/status",
            data=json.dumps({"status": self._node_status()}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        r.raise_for_status()
        self._last_heartbeat = time.monotonic()

    def _heartbeat_if_due(self) -> None:
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            r = self._req("GET", f"/api/v1/nodes/{self.node_name}")
            if r.status_code == 404:  # someone deleted the node: register again
                self.register_node()
            else:
                self._heartbeat()

    def _sync_all(self) -> str:
        r = self._req("GET", "/api/v1/pods")
        r.raise_for_status()
        body = r.json()
        for pod in body["items"]:
            self.handle_pod(pod)
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, rv: str) -> None:
        params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}
        with self._req("GET", "/api/v1/pods", params=params, stream=True, timeout=10) as r:
            if r.status_code != 200:
                return
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self.handle_pod(event["object"])
                elif event.get("type") == "ERROR":  # e.g. 410 Gone: relist
                    return

    # ------------------------------------------------------------------ pods
    def handle_pod(self, pod: dict[str, Any]) -> None:
        """Move one pod a step towards where a kubelet would have it."""
        meta, spec = pod["metadata"], pod["spec"]
        ns, name = meta["namespace"], meta["name"]
        base = f"/api/v1/namespaces/{ns}/pods/{name}"
        node = spec.get("nodeName")
        if meta.get("deletionTimestamp"):
            if node == self.node_name:
                self._req("DELETE", base, json={"gracePeriodSeconds": 0})
            return
        if not node:
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name, "namespace": ns},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
            }
            r = self._req("POST", f"{base}/binding", json=binding)
            if r.status_code not in (201, 409, 404):
                log.warning("binding %s/%s: %s %s", ns, name, r.status_code, r.text)
            return  # the MODIFIED event that follows brings it back here bound
        if node != self.node_name:
            return
        ready = (meta.get("labels") or {}).get(NEVER_READY_LABEL) != "true"
        if self._status_is_current(pod, ready):
            return
        r = self._req(
            "PATCH",
            f"{base}/status",
            data=json.dumps({"status": self._pod_status(pod, ready)}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if r.status_code not in (200, 404, 409):
            log.warning("status %s/%s: %s %s", ns, name, r.status_code, r.text)

    @staticmethod
    def _status_is_current(pod: dict[str, Any], ready: bool) -> bool:
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            return False
        want = "True" if ready else "False"
        conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
        return conds.get("Ready") == want

    def _pod_status(self, pod: dict[str, Any], ready: bool) -> dict[str, Any]:
        now = _now()
        flag = "True" if ready else "False"
        self._pod_seq += 1
        seq = self._pod_seq

        def cond(kind: str, status: str) -> dict[str, str]:
            return {"type": kind, "status": status, "lastTransitionTime": now}

        def container(c: dict[str, Any]) -> dict[str, Any]:
            return {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": f"fake://{c.get('image', '')}",
                "containerID": f"fake://{pod['metadata']['uid']}/{c['name']}",
                "ready": ready,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }

        ip = f"10.88.{(seq // 250) % 250}.{seq % 250 + 1}"
        return {
            "phase": "Running",
            "hostIP": "127.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": [
                cond("PodScheduled", "True"),
                cond("Initialized", "True"),
                cond("ContainersReady", flag),
                cond("Ready", flag),
            ],
            "containerStatuses": [container(c) for c in pod["spec"].get("containers", [])],
        }


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m tests.support.fake_kubelet` (used by scripts/kube-local)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node-name", default=NODE_NAME)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    kubelet = FakeKubelet(args.kubeconfig, args.node_name)
    kubelet.register_node()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: kubelet._stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        kubelet.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
