"""The real adapter (`commands.kube.client`) against a real API server.

Most tests run against the local control plane (tests/support/controlplane.py). Retry and
410-restart behaviour cannot be provoked on demand from a healthy API server, so a few tests
use a scripted loopback HTTP server that answers like one (a public fake, not a mock).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes import client as k8s_client

from commands.kube import client, port
from commands.values import clock, errors, workloads
from tests.support import controlplane as cp
from tests.support import kubepki, manifests, polling, processes

Kind = workloads.Kind
kube = pytest.mark.kube
RESTARTED = "2026-01-01T09:00:00Z"


# ---------------------------------------------------------------------- helpers
def _template(image: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def _statefulset(ns: str, name: str, image: str) -> dict[str, Any]:
    pod = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 2,
            "serviceName": name,
            "selector": {"matchLabels": pod},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "template": _template(image, pod),
        },
    }


def _daemonset(ns: str, name: str, image: str) -> dict[str, Any]:
    pod = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": pod}, "template": _template(image, pod)},
    }


def _deployment_path(ns: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"


@pytest.fixture
def cluster(control_plane: cp.ControlPlane) -> Iterator[client.KubeCluster]:
    with client.connect(str(control_plane.kubeconfig), None) as kube_cluster:
        yield kube_cluster


@pytest.fixture
def other_namespace(control_plane: cp.ControlPlane) -> Iterator[str]:
    name = control_plane.unique_name("myctl-test")
    control_plane.ensure_namespace(name)
    yield name
    with contextlib.suppress(Exception):
        control_plane.request("DELETE", f"/api/v1/namespaces/{name}")


# ---------------------------------------------------------------------- listing
@kube
def test_listing_paginates_with_a_small_page_size_across_namespaces(
    control_plane: cp.ControlPlane,
    cluster: client.KubeCluster,
    kube_namespace: str,
    other_namespace: str,
) -> None:
    run = control_plane.unique_name("run")
    expected = set()
    for ns in (kube_namespace, other_namespace):
        for i in range(3):
            control_plane.apply_objects(
                [
                    manifests.deployment(
                        f"web-{i}", namespace=ns, labels={"app": f"web-{i}", "run": run}
                    )
                ]
            )
            expected.add(workloads.WorkloadRef(Kind.DEPLOYMENT, ns, f"web-{i}"))

    listing = cluster.list_workloads(Kind.DEPLOYMENT, None, f"run={run}", page_size=2)
    first = next(listing)
    assert cluster.requests == 1  # one page fetched, not the whole list
    found = {first.ref, *(w.ref for w in listing)}

    assert found == expected
    assert cluster.requests >= 3  # 6 objects in pages of 2


@kube
def test_selector_scopes_the_listing_to_matching_workloads(
    control_plane: cp.ControlPlane, cluster: client.KubeCluster, kube_namespace: str
) -> None:
    control_plane.apply_objects(
        [
            manifests.deployment(
                "front", namespace=kube_namespace, labels={"app": "front", "tier": "web"}
            ),
            manifests.deployment(
                "back", namespace=kube_namespace, labels={"app": "back", "tier": "api"}
            ),
            manifests.deployment(
                "edge", namespace=kube_namespace, labels={"app": "edge", "tier": "web"}
            ),
        ]
    )

    found = cluster.list_workloads(Kind.DEPLOYMENT, kube_namespace, "tier=web")

    assert sorted(w.ref.name for w in found) == ["edge", "front"]


@kube
def test_an_invalid_selector_is_a_usage_error(
    cluster: client.KubeCluster, kube_namespace: str
) -> None:
    with pytest.raises(errors.UsageError, match="invalid label selector"):
        list(cluster.list_workloads(Kind.DEPLOYMENT, kube_namespace, "tier in (web"))


@kube
def test_statefulsets_and_daemonsets_are_listed_with_their_rollout_facts(
    control_plane: cp.ControlPlane, cluster: client.KubeCluster, kube_namespace: str
) -> None:
    control_plane.apply_objects(
        [
            _statefulset(kube_namespace, "db", "postgres:16"),
            _daemonset(kube_namespace, "agent", "example.com/agent"),
        ]
    )

    (sts,) = cluster.list_workloads(Kind.STATEFULSET, kube_namespace, "")
    (ds,) = cluster.list_workloads(Kind.DAEMONSET, kube_namespace, "")

    assert sts.ref == workloads.WorkloadRef(Kind.STATEFULSET, kube_namespace, "db")
    assert sts.containers == (workloads.Container("app", "postgres:16", "IfNotPresent"),)
    assert (sts.rollout.desired, sts.rollout.partition) == (2, 1)
    assert sts.rollout.update_strategy == "RollingUpdate"
    assert sts.rollout.generation == 1
    assert ds.ref == workloads.WorkloadRef(Kind.DAEMONSET, kube_namespace, "agent")
    # No tag means :latest, which the API server defaults to imagePullPolicy Always.
    assert ds.containers == (workloads.Container("app", "example.com/agent", "Always"),)
    assert ds.rollout.update_strategy == "RollingUpdate"


# ---------------------------------------------------------------------- read and patch
@kube
def test_reading_a_missing_workload_raises_not_found(
    cluster: client.KubeCluster, kube_namespace: str
) -> None:
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, kube_namespace, "nope")

    with pytest.raises(errors.NotFound, match=f"deployment {kube_namespace}/nope not found"):
        cluster.read_workload(ref)


@kube
def test_patch_lands_the_annotation_under_field_manager_myctl(
    control_plane: cp.ControlPlane,
    cluster: client.KubeCluster,
    kube_namespace: str,
) -> None:
    control_plane.apply_objects(
        [manifests.deployment("api", namespace=kube_namespace, labels={"app": "api"})]
    )
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, kube_namespace, "api")

    patched = cluster.patch_restart(ref, RESTARTED, dry_run=False)

    assert patched.restarted_at == RESTARTED
    assert cluster.read_workload(ref).restarted_at == RESTARTED
    live = control_plane.request("GET", _deployment_path(kube_namespace, "api"))
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert port.FIELD_MANAGER in managers
    # The new generation is what the engine waits for with --wait.
    assert patched.rollout.generation == 2


@kube
def test_dry_run_patch_leaves_the_object_unchanged(
    control_plane: cp.ControlPlane,
    cluster: client.KubeCluster,
    kube_namespace: str,
) -> None:
    control_plane.apply_objects(
        [manifests.deployment("api", namespace=kube_namespace, labels={"app": "api"})]
    )
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, kube_namespace, "api")
    path = _deployment_path(kube_namespace, "api")

    def settled() -> bool:
        # The controllers write status after creation, which changes resourceVersion too.
        obj = control_plane.request("GET", path)
        status = obj.get("status") or {}
        return bool(
            status.get("observedGeneration") == obj["metadata"]["generation"]
            and status.get("availableReplicas", 0) == obj["spec"]["replicas"]
        )

    polling.wait_until(settled, timeout=60, what="the deployment to settle")
    before = control_plane.request("GET", path)["metadata"]["resourceVersion"]

    answer = cluster.patch_restart(ref, RESTARTED, dry_run=True)

    assert answer.restarted_at == RESTARTED  # what it would have become
    assert control_plane.request("GET", path)["metadata"]["resourceVersion"] == before
    assert cluster.read_workload(ref).restarted_at is None


# ---------------------------------------------------------------------- cache
@kube
def test_cache_create_and_replace_round_trip_data_and_binary_data(
    control_plane: cp.ControlPlane, cluster: client.KubeCluster, kube_namespace: str
) -> None:
    assert cluster.read_cache(kube_namespace, "cache") is None
    blob = bytes(range(256))  # not UTF-8: must travel base64-encoded

    rv1 = cluster.write_cache(
        kube_namespace, "cache", data={"doc": "{}"}, binary_data={}, resource_version=None
    )
    first = cluster.read_cache(kube_namespace, "cache")
    rv2 = cluster.write_cache(
        kube_namespace, "cache", data={}, binary_data={"doc.gz": blob}, resource_version=rv1
    )
    second = cluster.read_cache(kube_namespace, "cache")

    assert first == port.CacheObject(rv1, {"doc": "{}"}, {})
    assert second == port.CacheObject(rv2, {}, {"doc.gz": blob})
    assert rv2 != rv1
    live = control_plane.request("GET", f"/api/v1/namespaces/{kube_namespace}/configmaps/cache")
    assert live["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "myctl"}


@kube
def test_a_stale_resource_version_raises_cache_conflict(
    cluster: client.KubeCluster, kube_namespace: str
) -> None:
    rv1 = cluster.write_cache(
        kube_namespace, "cache", data={"n": "1"}, binary_data={}, resource_version=None
    )
    cluster.write_cache(
        kube_namespace, "cache", data={"n": "2"}, binary_data={}, resource_version=rv1
    )

    with pytest.raises(errors.CacheConflict):
        cluster.write_cache(
            kube_namespace, "cache", data={"n": "3"}, binary_data={}, resource_version=rv1
        )
    with pytest.raises(errors.CacheConflict):  # create when someone else created it first
        cluster.write_cache(
            kube_namespace, "cache", data={"n": "3"}, binary_data={}, resource_version=None
        )
    stored = cluster.read_cache(kube_namespace, "cache")
    assert stored is not None and stored.data == {"n": "2"}


@kube
def test_concurrent_patches_from_a_thread_pool_all_land(
    control_plane: cp.ControlPlane, cluster: client.KubeCluster, kube_namespace: str
) -> None:
    names = [f"web-{i}" for i in range(24)]
    control_plane.apply_objects(
        [manifests.deployment(n, namespace=kube_namespace, labels={"app": n}) for n in names]
    )
    refs = [workloads.WorkloadRef(Kind.DEPLOYMENT, kube_namespace, n) for n in names]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        patched = list(pool.map(lambda r: cluster.patch_restart(r, RESTARTED, dry_run=False), refs))

    assert [w.restarted_at for w in patched] == [RESTARTED] * len(refs)
    listed = cluster.list_workloads(Kind.DEPLOYMENT, kube_namespace, "")
    assert {w.ref.name for w in listed if w.restarted_at == RESTARTED} == set(names)


# ---------------------------------------------------------------------- failures
@kube
def test_a_service_account_without_rbac_gets_permission_denied_naming_what_it_tried(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    control_plane.apply_objects(
        [manifests.deployment("api", namespace=kube_namespace, labels={"app": "api"})]
    )
    kubeconfig = control_plane.service_account_kubeconfig(kube_namespace, "nobody")
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, kube_namespace, "api")

    with client.connect(str(kubeconfig), None) as cluster:
        with pytest.raises(errors.PermissionDenied) as patch_denied:
            cluster.patch_restart(ref, RESTARTED, dry_run=True)
        with pytest.raises(errors.PermissionDenied) as list_denied:
            list(cluster.list_workloads(Kind.STATEFULSET, None, ""))

    denied = patch_denied.value
    assert (denied.verb, denied.resource, denied.namespace) == (
        "patch",
        "deployments.apps",
        kube_namespace,
    )
    assert f'cannot patch deployments.apps in namespace "{kube_namespace}"' in str(denied)
    assert "cannot list statefulsets.apps at cluster scope" in str(list_denied.value)
    assert denied.exit_code == errors.EXIT_USAGE


@kube
def test_rejected_credentials_are_reported_as_unauthorized(
    control_plane: cp.ControlPlane, tmp_path: Path
) -> None:
    kubeconfig = kubepki.write_kubeconfig(
        tmp_path / "bad-token", control_plane.server, control_plane.ca_file, user="x", token="bogus"
    )

    with (
        client.connect(str(kubeconfig), None) as cluster,
        pytest.raises(errors.ClusterUnreachable, match="unauthorized") as caught,
    ):
        cluster.server_version()
    assert "bogus" not in str(caught.value)


@kube
def test_server_version_names_the_api_server_release(cluster: client.KubeCluster) -> None:
    assert cluster.server_version().startswith("v1.")


def test_an_unreachable_server_raises_cluster_unreachable_quickly(tmp_path: Path) -> None:
    server = f"https://127.0.0.1:{processes.free_port()}"  # bound and released: nothing listens
    ca = tmp_path / "ca.crt"
    ca.write_text("")
    kubeconfig = kubepki.write_kubeconfig(tmp_path / "config", server, ca, user="u", token="t0k3n")
    started = time.monotonic()

    with (
        client.connect(str(kubeconfig), None) as cluster,
        pytest.raises(errors.ClusterUnreachable) as caught,
    ):
        cluster.server_version()

    assert time.monotonic() - started < 3
    assert f"cannot reach the Kubernetes API at {server}" in str(caught.value)
    assert caught.value.exit_code == errors.EXIT_USAGE


def test_an_invalid_kubeconfig_file_raises_cluster_unreachable_without_its_content(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    broken.write_text("users:\n- name: u\n  user: {token: s3cr3t-token\n")

    with pytest.raises(errors.ClusterUnreachable) as caught:
        client.connect(str(broken), None)

    assert str(broken) in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_a_missing_kubeconfig_or_unknown_context_raises_cluster_unreachable(
    tmp_path: Path,
) -> None:
    good = kubepki.write_kubeconfig(
        tmp_path / "config", "https://127.0.0.1:1", tmp_path / "ca", user="u", token="t"
    )

    with pytest.raises(errors.ClusterUnreachable, match="does not exist"):
        client.connect(str(tmp_path / "absent"), None)
    with pytest.raises(errors.ClusterUnreachable, match='context "prod" not found') as caught:
        client.connect(str(good), "prod")
    assert "myctl-test" in str(caught.value)  # lists the contexts that do exist
    with pytest.raises(errors.ClusterUnreachable, match="names no existing file"):
        client.connect(None, None, environ={"KUBECONFIG": str(tmp_path / "nothing")})


# ---------------------------------------------------------------------- scripted API server
class _ScriptedApi:
    """A loopback HTTP server that answers each request with the next scripted response."""

    def __init__(self, script: list[tuple[int, dict[str, Any]]]) -> None:
        self.script = list(script)
        self.seen: list[dict[str, list[str]]] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.seen.append(parse_qs(urlparse(self.path).query))
                status, body = api.script.pop(0)
                if body.get("delay"):  # simulate an API server that hangs past our read timeout
                    time.sleep(float(body["delay"]))
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def cluster(self, fake_clock: clock.FakeClock, read_timeout: float = 5.0) -> client.KubeCluster:
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        configuration = k8s_client.Configuration(host=host)
        return client.KubeCluster(
            client.configure(configuration, 1),
            clock=fake_clock,
            request_timeout=(1.0, read_timeout),
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _status(code: int, reason: str) -> tuple[int, dict[str, Any]]:
    return code, {
        "kind": "Status",
        "status": "Failure",
        "reason": reason,
        "message": reason,
        "code": code,
    }


def _page(names: list[str], token: str = "") -> tuple[int, dict[str, Any]]:
    items = [
        {
            "metadata": {"name": n, "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        }
        for n in names
    ]
    return 200, {"kind": "DeploymentList", "metadata": {"continue": token}, "items": items}


@pytest.fixture
def scripted() -> Iterator[Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi]]:
    servers: list[_ScriptedApi] = []

    def start(script: list[tuple[int, dict[str, Any]]]) -> _ScriptedApi:
        servers.append(_ScriptedApi(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_server_errors_are_retried_with_backoff_then_raise_server_error(
    scripted: Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi],
) -> None:
    api = scripted([_status(503, "ServiceUnavailable")] * 3)
    fake_clock = clock.FakeClock()

    with pytest.raises(errors.ServerError, match="gave up after 3 attempts"):
        api.cluster(fake_clock).server_version()

    assert fake_clock.slept == [0.2, 0.4]
    assert len(api.seen) == 3


def test_a_temporary_failure_followed_by_success_is_invisible(
    scripted: Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi],
) -> None:
    api = scripted([_status(429, "TooManyRequests"), (200, {"gitVersion": "v1.34.4"})])

    assert api.cluster(clock.FakeClock()).server_version() == "v1.34.4"


def test_a_read_timeout_is_retried_and_then_succeeds(
    scripted: Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi],
) -> None:
    api = scripted([(200, {"delay": 0.5}), (200, {"gitVersion": "v1.34.4"})])
    fake_clock = clock.FakeClock()

    assert api.cluster(fake_clock, read_timeout=0.1).server_version() == "v1.34.4"
    assert fake_clock.slept == [0.2]


def test_an_expired_continue_token_restarts_the_list_once_without_duplicates(
    scripted: Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi],
) -> None:
    api = scripted(
        [
            _page(["a", "b"], token="t1"),
            _status(410, "Expired"),
            _page(["a", "b"], token="t2"),
            _page(["c"]),
        ]
    )

    names = [
        w.ref.name
        for w in api.cluster(clock.FakeClock()).list_workloads(
            Kind.DEPLOYMENT, "shop", "", page_size=2
        )
    ]

    assert names == ["a", "b", "c"]
    assert [q.get("continue") for q in api.seen] == [None, ["t1"], None, ["t2"]]


def test_a_second_expiry_gives_up_with_server_error(
    scripted: Callable[[list[tuple[int, dict[str, Any]]]], _ScriptedApi],
) -> None:
    api = scripted(
        [
            _page(["a"], token="t1"),
            _status(410, "Expired"),
            _page(["a"], token="t2"),
            _status(410, "Expired"),
        ]
    )

    with pytest.raises(errors.ServerError, match="expired"):
        list(
            api.cluster(clock.FakeClock()).list_workloads(Kind.DEPLOYMENT, "shop", "", page_size=1)
        )
