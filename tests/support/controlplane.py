"""A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) for tests.

Why real binaries and not a fake: RBAC, server-side dry run, TokenRequest and the rollout
controllers are what myctl depends on, and only the real API server gets them right.
Binaries come from `scripts/kube-build` (built from Go modules, cached in ~/.cache/myctl).

Shared by the pytest plugin (`tests/support/kube_plugin.py`, attached to the test process)
and by `scripts/kube-local` (detached, survives the script). There is no kubelet and no
scheduler: `tests/support/fake_kubelet.py` binds pods and marks them Ready.

Only loopback, only free ports (the OS picks them), everything in one work directory.
Certificates and kubeconfigs are made by `tests/support/kubepki.py`; pids, ports and memory
are handled by `tests/support/processes.py`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support import kubepki, processes

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBE_BUILD = REPO_ROOT / "scripts" / "kube-build"

# Kinds that deploy/base and tests apply: kind -> (API path prefix, plural, namespaced).
_KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "Service": ("/api/v1", "services", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
}

# Controllers the tests need. Deliberately absent: nodelifecycle (it would taint and evict
# the fake node's pods when no real kubelet heartbeats), and anything cloud or storage.
CONTROLLERS = (
    "deployment",
    "replicaset",
    "statefulset",
    "daemonset",
    "serviceaccount",
    "serviceaccount-token",
    "namespace",
    "garbagecollector",
    "root-ca-cert-publisher",
)


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or reached."""


def build_binaries(env: Mapping[str, str] | None = None) -> Path:
    """Run scripts/kube-build (a no-op when cached) and return the bin directory.

    Raises ControlPlaneError with the build's stderr tail: a broken build must fail
    tests loudly rather than skip them.
    """
    proc = subprocess.run(
        ["bash", str(KUBE_BUILD)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"scripts/kube-build failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on free loopback ports.

    `workdir=None` uses (and on stop removes) a fresh temp dir. `detach=True` starts the
    processes in their own session and skips the atexit safety net, so they outlive the
    Python process (scripts/kube-local); stop them later with `kill_pids(state["pids"])`.
    """

    def __init__(
        self,
        bin_dir: Path | None = None,
        workdir: Path | None = None,
        *,
        detach: bool = False,
        ready_timeout: float = 90.0,
    ) -> None:
        self.bin_dir = bin_dir
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="myctl-kube-"))
        self.detach = detach
        self.ready_timeout = ready_timeout
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.pki = self.workdir / "pki"
        self.ca_file = self.pki / "ca.crt"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.server = ""
        self.startup_seconds = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ControlPlane:
        """Start all three processes and return once /readyz answers ok (or raise)."""
        t0 = time.monotonic()
        if self.bin_dir is None:
            self.bin_dir = build_binaries()
        if not self.detach:
            atexit.register(self.stop)
        try:
            kubepki.make_pki(self.pki)
            self._start_etcd()
            self._start_apiserver()
            self._wait_ready()
            self._start_controller_manager()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Kill every process this object started (by pid) and remove an owned temp dir."""
        processes.kill_pids([p.pid for p in self.procs.values()])
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self.procs.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        """Process ids by component name."""
        return {name: p.pid for name, p in self.procs.items()}

    def rss_kib(self) -> int:
        """Summed resident memory of the processes, in KiB."""
        return sum(processes.rss_kib(pid) for pid in self.pids.values())

    def state(self) -> dict[str, Any]:
        """What scripts/kube-local persists to find and stop a detached control plane."""
        return {
            "pids": self.pids,
            "ports": self.ports,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "ca_file": str(self.ca_file),
            "workdir": str(self.workdir),
            "bin_dir": str(self.bin_dir),
        }

    # ------------------------------------------------------------------ processes
    def _spawn(self, name: str, args: list[str]) -> None:
        assert self.bin_dir is not None
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,
            start_new_session=self.detach,
            preexec_fn=None if self.detach else processes.die_with_parent,
        )
        log.close()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ControlPlaneError(f"{name} exited with {proc.returncode}:\n{tail}")

    def _start_etcd(self) -> None:
        client, peer = processes.free_port(), processes.free_port()
        self.ports.update(etcd=client, etcd_peer=peer)
        self._spawn(
            "etcd",
            [
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                # Throwaway data: fsync only costs time.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self) -> None:
        port = processes.free_port()
        self.ports["apiserver"] = port
        self.server = f"https://127.0.0.1:{port}"
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={self.ca_file}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                # It would taint the fake node NotReady; only nodelifecycle (off) lifts it.
                "--disable-admission-plugins=TaintNodesByCondition",
                "--allow-privileged=true",
                "--profiling=false",
                "--endpoint-reconciler-type=none",
                "--v=0",
            ],
        )

    def _start_controller_manager(self) -> None:
        kcfg = kubepki.write_kubeconfig(
            self.workdir / "controller-manager.kubeconfig",
            self.server,
            self.ca_file,
            user="system:kube-controller-manager",
            cert=self.pki / "controller-manager.crt",
            key=self.pki / "controller-manager.key",
        )
        port = processes.free_port()
        self.ports["controller_manager"] = port
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={kcfg}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self.pki / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",
                "--leader-elect=false",
                "--profiling=false",
                "--v=0",
            ],
        )

    def _wait_ready(self) -> None:
        kubepki.write_kubeconfig(
            self.kubeconfig,
            self.server,
            self.ca_file,
            user="myctl-admin",
            cert=self.pki / "admin.crt",
            key=self.pki / "admin.key",
        )
        session = self.session()
        deadline = time.monotonic() + self.ready_timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                r = session.get(f"{self.server}/readyz", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text[-500:]
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ControlPlaneError(f"kube-apiserver not ready in {self.ready_timeout}s: {last}")

    # ------------------------------------------------------------------ API helpers
    def session(self) -> requests.Session:
        """A requests session authenticated as the admin (system:masters)."""
        s = requests.Session()
        # trust_env off: REQUESTS_CA_BUNDLE (set on many machines) would override `verify`,
        # and a proxy must never see loopback traffic.
        s.trust_env = False
        s.cert = (str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        s.verify = str(self.ca_file)
        return s

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """One admin API call; returns parsed JSON, raises requests.HTTPError on failure."""
        r = self.session().request(method, self.server + path, json=body, params=params, timeout=30)
        r.raise_for_status()
        return r.json() if r.content else None

    def ensure_namespace(self, name: str) -> None:
        """Create a namespace unless it exists."""
        self.apply_objects([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])

    def service_account_kubeconfig(
        self,
        namespace: str,
        name: str,
        path: Path | str | None = None,
        *,
        expiration_seconds: int = 3600,
    ) -> Path:
        """A kubeconfig that acts as ServiceAccount namespace/name, with a TokenRequest token.

        Creates the namespace and ServiceAccount when missing. This is how tests act as the
        bot's ServiceAccount to prove RBAC least privilege.
        """
        self.ensure_namespace(namespace)
        self.apply_objects(
            [
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": namespace},
                }
            ],
            replace=False,
        )
        tr = self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": expiration_seconds},
            },
        )
        target = Path(path) if path else self.workdir / "sa" / f"{namespace}.{name}.kubeconfig"
        return kubepki.write_kubeconfig(
            target,
            self.server,
            self.ca_file,
            user=f"system:serviceaccount:{namespace}:{name}",
            token=tr["status"]["token"],
            namespace=namespace,
        )

    def apply_objects(self, objects: Iterable[Mapping[str, Any]], *, replace: bool = True) -> None:
        """Create each object, or replace it when it exists (kept simple: no server-side apply).

        Supports the kinds in deploy/base plus a few more (see _KINDS); unknown kinds raise.
        With replace=False an existing object is left as it is.
        """
        s = self.session()
        for obj in objects:
            if not obj:
                continue
            kind = obj["kind"]
            if kind not in _KINDS:
                raise ControlPlaneError(f"apply_objects does not know kind {kind!r}")
            prefix, plural, namespaced = _KINDS[kind]
            meta = obj["metadata"]
            ns = meta.get("namespace", "default")
            coll = f"{prefix}/namespaces/{ns}/{plural}" if namespaced else f"{prefix}/{plural}"
            url = f"{self.server}{coll}"
            r = s.post(url, json=obj, timeout=30)
            if r.status_code == 409 and replace:
                item = f"{url}/{meta['name']}"
                for _ in range(5):  # retry on a concurrent write (resourceVersion conflict)
                    current = s.get(item, timeout=30)
                    current.raise_for_status()
                    body = json.loads(json.dumps(obj))
                    rv = current.json()["metadata"]["resourceVersion"]
                    body["metadata"]["resourceVersion"] = rv
                    r = s.put(item, json=body, timeout=30)
                    if r.status_code != 409:
                        break
            elif r.status_code == 409:
                continue
            if r.status_code >= 400:
                raise ControlPlaneError(
                    f"apply {kind} {meta.get('name')}: {r.status_code} {r.text}"
                )

    def apply_manifest_file(self, path: Path | str) -> None:
        """Apply every YAML document in a file (e.g. deploy/base/rbac.yaml)."""
        with open(path) as f:
            self.apply_objects([d for d in yaml.safe_load_all(f) if d])

    def unique_name(self, prefix: str = "t") -> str:
        """A DNS-1123 name that no other test uses."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"
