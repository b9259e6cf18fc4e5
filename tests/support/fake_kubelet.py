"""A fake kubelet (and scheduler) for several fake nodes: pods are placed, "pull" their images
as a kubelet would, and become Running and Ready with no container runtime.

Why: the test control plane has no kubelet and no scheduler, yet myctl's `--wait` follows
rollouts with kubectl's rules (they need available pods), and verified rollouts read
`containerStatuses[].imageID`, so which digest a pod runs must follow the real rules
(docs/control-plane.md, "Fake nodes and image pulls"). This loop does what a kubelet would:

- registers the nodes (default `fake-node` and `fake-node-b`, Ready, with capacity) and keeps
  their heartbeats fresh; `fake-node-b` carries the NoSchedule taint DAEMONSET_TAINT, so the
  DaemonSet controller runs DaemonSets on `fake-node` only unless they tolerate it;
- schedules unscheduled pods through the Binding subresource: a pod pinned to a node
  (DaemonSet pods arrive with node affinity on metadata.name; or a hostname nodeSelector)
  goes there; any other pod goes to the node with the fewest live pods of the same
  controller (ReplicaSet, StatefulSet…), ties broken round-robin, so a 2-replica Deployment
  lands on both nodes, as the default scheduler's spreading does. Taints are not checked
  (the deliberate difference: only DaemonSets are kept off fake-node-b);
- starts each container by pulling per its `imagePullPolicy`, with one image cache per node
  ({normalized reference → digest}), and writes containerStatuses as a kubelet does:
  `imageID` `repo@sha256:…` (containerd, even nodes) or `docker-pullable://repo@sha256:…`
  (docker, odd nodes), or `state.waiting` (ErrImagePull, ErrImageNeverPull) with imageID "";
  failed pulls are retried on every relist, a started container keeps its digest for good;
- pods labelled `myctl.test/never-ready: "true"` run but are never Ready (stuck rollouts);
- finishes graceful deletions (delete with grace 0), as a kubelet does once containers stop.

Image references, policies and remote digests are in tests/support/fake_images.py, the
Node and pod statuses it writes in tests/support/fake_status.py.

Run as a thread (`FakeKubelet(...).start()` / `.stop()`) or as a process:
`python -m tests.support.fake_kubelet --kubeconfig PATH` (scripts/kube-local does), and move a
tag from a shell: `python -m tests.support.fake_kubelet --kubeconfig PATH --move-tag REF`.
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
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support import fake_images, fake_status

NODE_NAME = "fake-node"
NEVER_READY_LABEL = "myctl.test/never-ready"
DAEMONSET_TAINT = "myctl.test/daemonsets-opt-in"
HEARTBEAT_SECONDS = 10.0  # well under the 40s node-monitor grace period kubectl shows as stale
# Container runtimes report imageID differently; real clusters mix them during migrations.
RUNTIMES = ("containerd", "docker")

log = logging.getLogger("fake_kubelet")


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


def _owner(meta: dict[str, Any]) -> str | None:
    """The uid of the pod's controller (its ReplicaSet, StatefulSet…), the spreading group."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _pinned_node(spec: dict[str, Any]) -> str | None:
    """The node a pod must run on, when it names one: required node affinity on the
    `metadata.name` field (how the DaemonSet controller targets nodes) or a hostname
    nodeSelector."""
    affinity = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in affinity.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = field.get("values") or []
                if values:
                    return str(values[0])
    hostname = (spec.get("nodeSelector") or {}).get("kubernetes.io/hostname")
    return str(hostname) if hostname else None


class FakeKubelet:
    """Places pods on the fake nodes, pulls their images, reports them Running/Ready.

    `nodes` defaults to (`node_name`, `node_name-b`); node i runs RUNTIMES[i % 2].
    All public methods are safe to call from another thread while the loop runs.
    """

    def __init__(
        self, kubeconfig: str, node_name: str = NODE_NAME, *, nodes: tuple[str, ...] = ()
    ) -> None:
        self.kubeconfig = str(kubeconfig)
        self.session, self.server = _session_from_kubeconfig(self.kubeconfig)
        self.nodes: tuple[str, ...] = tuple(nodes) or (node_name, f"{node_name}-b")
        self.node_name = self.nodes[0]  # kept for callers written for one node
        # A second session for calls from the test thread: Session is not thread-safe.
        control, _ = _session_from_kubeconfig(self.kubeconfig)
        self.remote = fake_images.RemoteImages(control, self.server)
        self._loop_remote = fake_images.RemoteImages(self.session, self.server)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._caches: dict[str, dict[str, str]] = {n: {} for n in self.nodes}
        self._placed: dict[str, tuple[str, str | None]] = {}  # pod uid → (node, owner uid)
        self._round_robin = 0
        self._pod_seq = 0
        self._last_heartbeat = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeKubelet:
        """Register the nodes, then run the loop in a daemon thread."""
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
        """List-then-watch forever: a relist every second is cheap on a test cluster, makes
        the loop self-healing after any missed event or error, and retries failed pulls."""
        while not self._stop.is_set():
            try:
                self._heartbeat_if_due()
                rv = self._sync_all()
                self._watch(rv)
            except Exception:  # keep serving: a transient API error must not kill the loop
                log.exception("fake kubelet loop error")
                self._stop.wait(0.5)

    # ------------------------------------------------------------------ images (test API)
    def node_cache(self, node: str) -> dict[str, str]:
        """A copy of one node's image cache: {normalized reference → digest}."""
        with self._lock:
            return dict(self._caches[node])

    def seed_cache(self, node: str, ref: str, digest: str) -> None:
        """Make `node` hold `digest` for `ref`, as a node that pulled the tag earlier does."""
        with self._lock:
            self._caches[node][fake_images.normalize(ref).key] = digest

    def remote_digest(self, ref: str) -> str:
        """What `ref` points to now (the registry's answer for loopback images)."""
        return self.remote.digest(fake_images.normalize(ref))

    def set_remote_digest(self, ref: str, digest: str) -> None:
        """Point a non-loopback tag at `digest`, for every kubelet of this cluster (in the
        ConfigMap kube-system/fake-registry, read at pull time)."""
        image = fake_images.normalize(ref)
        if image.loopback:
            raise ValueError(f"{ref} is on a loopback registry: push to it instead")
        if image.digest:
            raise ValueError(f"{ref} names a digest; a digest cannot move")
        self.remote.set_override(image, digest)

    def move_tag(self, ref: str) -> str:
        """Re-push a non-loopback tag, as it were: it points to a new digest, returned."""
        image = fake_images.normalize(ref)
        if image.loopback:  # checked first: resolving would ask a registry that may be down
            raise ValueError(f"{ref} is on a loopback registry: push to it instead")
        new = fake_images.next_digest(image.key, self.remote.digest(image))
        self.set_remote_digest(ref, new)
        return new

    # ------------------------------------------------------------------ API
    def _url(self, path: str) -> str:
        return self.server + path

    def _req(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 15)
        return self.session.request(method, self._url(path), **kw)

    def register_node(self) -> None:
        """Create (or refresh) every Node with Ready status and allocatable capacity."""
        for i, name in enumerate(self.nodes):
            node: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                    },
                },
            }
            if i > 0:
                taint = {"key": DAEMONSET_TAINT, "value": "true", "effect": "NoSchedule"}
                node["spec"] = {"taints": [taint]}
            r = self._req("POST", "/api/v1/nodes", json=node)
            if r.status_code not in (201, 409):
                r.raise_for_status()
        self._heartbeat()

    def _runtime(self, node: str) -> str:
        return RUNTIMES[self.nodes.index(node) % len(RUNTIMES)]

    def _heartbeat(self) -> None:
        for name in self.nodes:
            r = self._req(
                "PATCH",
                f"/api/v1/nodes/{name}/status",
                data=json.dumps({"status": fake_status.node_status(name, self._runtime(name))}),
                headers={"Content-Type": "application/merge-patch+json"},
            )
            r.raise_for_status()
        self._last_heartbeat = time.monotonic()

    def _heartbeat_if_due(self) -> None:
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            for name in self.nodes:
                if self._req("GET", f"/api/v1/nodes/{name}").status_code == 404:
                    self.register_node()  # someone deleted a node: register again
                    return
            self._heartbeat()

    def _sync_all(self) -> str:
        r = self._req("GET", "/api/v1/pods")
        r.raise_for_status()
        body = r.json()
        placed = {}
        for pod in body["items"]:
            meta, node = pod["metadata"], pod["spec"].get("nodeName")
            if node in self.nodes and not meta.get("deletionTimestamp"):
                placed[meta["uid"]] = (node, _owner(meta))
        with self._lock:
            self._placed = placed
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
                elif event.get("type") == "DELETED":
                    with self._lock:
                        self._placed.pop(event["object"]["metadata"]["uid"], None)
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
            with self._lock:
                self._placed.pop(meta["uid"], None)
            if node in self.nodes:
                self._req("DELETE", base, json={"gracePeriodSeconds": 0})
            return
        if not node:
            self._bind(pod, base)
            return  # the MODIFIED event that follows brings it back here bound
        if node not in self.nodes:
            return
        ready = (meta.get("labels") or {}).get(NEVER_READY_LABEL) != "true"
        status = fake_status.pod_status(
            pod,
            ready,
            self._runtime(node),
            lambda image, policy: self.pull(node, image, policy),
            self._next_ip,
        )
        if status is None:
            return
        r = self._req(
            "PATCH",
            f"{base}/status",
            data=json.dumps({"status": status}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if r.status_code not in (200, 404, 409):
            log.warning("status %s/%s: %s %s", ns, name, r.status_code, r.text)

    def _choose_node(self, pod: dict[str, Any]) -> str | None:
        pinned = _pinned_node(pod["spec"])
        if pinned is not None:
            return pinned if pinned in self.nodes else None  # another kubelet's node
        owner = _owner(pod["metadata"])
        with self._lock:
            counts = dict.fromkeys(self.nodes, 0)
            for node, other in self._placed.values():
                if other == owner and node in counts:
                    counts[node] += 1
            start = self._round_robin % len(self.nodes)
            self._round_robin += 1
        order = self.nodes[start:] + self.nodes[:start]
        return min(order, key=lambda n: counts[n])  # min keeps the first of equals

    def _bind(self, pod: dict[str, Any], base: str) -> None:
        meta = pod["metadata"]
        target = self._choose_node(pod)
        if target is None:
            return
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": target},
        }
        r = self._req("POST", f"{base}/binding", json=binding)
        if r.status_code == 201:
            # Counted now, not when the MODIFIED event arrives: the ReplicaSet's next pod
            # is often bound before that event, and must see this one to spread.
            with self._lock:
                self._placed[meta["uid"]] = (target, _owner(meta))
        elif r.status_code not in (409, 404):
            log.warning(
                "binding %s/%s: %s %s", meta["namespace"], meta["name"], r.status_code, r.text
            )

    def _next_ip(self) -> str:
        self._pod_seq += 1
        seq = self._pod_seq
        return f"10.88.{(seq // 250) % 250}.{seq % 250 + 1}"

    def pull(self, node: str, image: str, policy: str | None) -> str:
        """Resolve a container's image on `node` per its pull policy; returns the digest
        (and caches it on the node) or raises fake_images.PullError."""
        ref = fake_images.normalize(image)
        policy = policy or fake_images.default_pull_policy(ref)
        with self._lock:
            cached = self._caches[node].get(ref.key)
        if policy == fake_images.NEVER or (policy == fake_images.IF_NOT_PRESENT and cached):
            if cached:
                return cached
            raise fake_images.PullError(
                "ErrImageNeverPull",
                f'Container image "{image}" is not present with pull policy of Never',
            )
        digest = self._loop_remote.digest(ref)
        with self._lock:
            self._caches[node][ref.key] = digest
        return digest


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m tests.support.fake_kubelet` (used by scripts/kube-local)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument(
        "--node-name",
        action="append",
        help="a node to run (repeatable); default: fake-node, fake-node-b",
    )
    parser.add_argument(
        "--move-tag",
        metavar="REF",
        help="point REF (not on a loopback registry) at a new digest, print it, exit",
    )
    parser.add_argument(
        "--set-digest", nargs=2, metavar=("REF", "DIGEST"), help="point REF at DIGEST and exit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    kubelet = FakeKubelet(args.kubeconfig, nodes=tuple(args.node_name or ()))
    if args.move_tag:
        print(kubelet.move_tag(args.move_tag))
        return 0
    if args.set_digest:
        kubelet.set_remote_digest(*args.set_digest)
        return 0
    kubelet.register_node()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: kubelet._stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        kubelet.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
