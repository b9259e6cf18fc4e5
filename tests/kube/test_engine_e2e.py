"""The engine and the `myctl` CLI against the real API server and controller-manager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client

from commands.cli import main, parser
from commands.engine import cachedoc, check, rebuild
from commands.engine.context import Engine
from commands.kube import client, port
from commands.values import settings, workloads
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import polling

pytestmark = pytest.mark.kube
API = "registry.example.com/team/api:1.4.2"


def myctl(control_plane: cp.ControlPlane, *args: str, cache_ns: str) -> Result:
    """Run the real CLI, as a user would, against the control plane."""
    argv = ["--kubeconfig", str(control_plane.kubeconfig), "--cache-namespace", cache_ns, *args]
    runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False)
    return CliRunner().invoke(parser.cli, argv, obj=runtime)


def engine_for(control_plane: cp.ControlPlane, namespaces: tuple[str, ...], **kw: object) -> Engine:
    scope = settings.Scope(namespaces=namespaces)
    config = settings.Settings(cache=settings.CacheSettings(namespace=namespaces[0]), scope=scope)
    return Engine(
        cluster=client.connect(str(control_plane.kubeconfig), None),
        settings=config,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def second_namespace(control_plane: cp.ControlPlane) -> str:
    name = control_plane.unique_name("myctl-test2")
    control_plane.ensure_namespace(name)
    return name


def test_rebuild_pages_through_several_namespaces_and_kinds(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    second_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    for index in range(3):
        objects.deployment(kube_admin, kube_namespace, f"api-{index}", API)
        objects.deployment(kube_admin, second_namespace, f"api-{index}", API)
    objects.statefulset(kube_admin, kube_namespace, "db", "postgres:16")
    objects.daemonset(kube_admin, second_namespace, "agent", "registry.example.com/agent:3")
    engine = engine_for(control_plane, (kube_namespace, second_namespace), page_size=2)
    result = rebuild.run(engine)
    assert result.written
    assert (result.stats.workloads, result.stats.images) == (8, 3)
    assert isinstance(engine.cluster, client.KubeCluster)
    verdict = check.run(engine)
    assert verdict.valid and verdict.stats.workloads == 8


def test_label_selector_limits_the_scope(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "team-a", API, labels={"team": "a"})
    objects.deployment(kube_admin, kube_namespace, "team-b", API, labels={"team": "b"})
    result = myctl(
        control_plane,
        "-o",
        "json",
        "rebuild",
        "--force",
        "-n",
        kube_namespace,
        "-l",
        "team=a",
        cache_ns=kube_namespace,
    )
    assert json.loads(result.output)["cache"]["workloads"] == 1


def test_conflicting_cache_write_is_retried_and_nothing_is_lost(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    engine = engine_for(control_plane, (kube_namespace,))
    rebuild.run(engine)
    chosen = rebuild.plan(engine)  # read the cache at resourceVersion N
    core = k8s_client.CoreV1Api(kube_admin)
    other = core.read_namespaced_config_map("myctl-image-cache", kube_namespace)
    other.metadata.annotations = {"touched-by": "another-writer"}
    core.replace_namespaced_config_map("myctl-image-cache", kube_namespace, other)
    result = rebuild.apply(engine, chosen)  # 409 at N, re-read, write at N+1
    assert result.written
    assert check.run(engine).valid
    stored = core.read_namespaced_config_map("myctl-image-cache", kube_namespace)
    assert API in json.loads(stored.data[cachedoc.DATA_KEY])["images"]


def test_a_large_cache_round_trips_compressed_through_the_api_server(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    cluster = client.connect(str(control_plane.kubeconfig), None)
    document = cachedoc.Document(
        built_at="2026-01-01T09:00:00Z",
        scope=settings.Scope(namespaces=(kube_namespace,)).as_document(),
        images={
            f"registry.example.com/team-{index % 97}/service-{index}:1.{index}": (
                cachedoc.Entry(
                    workloads.WorkloadRef(
                        workloads.Kind.DEPLOYMENT, f"ns-{index % 31}", f"service-{index:06d}"
                    ),
                    ("app",),
                ),
            )
            for index in range(12000)
        },
    )
    encoded = cachedoc.encode(document)
    assert encoded.compressed and encoded.size_bytes < cachedoc.CONFIGMAP_LIMIT
    cluster.write_cache(
        kube_namespace,
        "big",
        data=encoded.data,
        binary_data=encoded.binary_data,
        resource_version=None,
    )
    stored = cluster.read_cache(kube_namespace, "big")
    assert stored is not None
    assert cachedoc.decode(stored) == document


def test_restart_lands_the_annotation_and_the_controller_rolls_a_new_replicaset(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    apps = k8s_client.AppsV1Api(kube_admin)
    polling.wait_until(
        lambda: objects.deployment_available(kube_admin, kube_namespace, "api"), what="api ready"
    )
    result = myctl(
        control_plane,
        "restart",
        "-n",
        kube_namespace,
        "deployment/api",
        "--wait",
        "--timeout",
        "60s",
        cache_ns=kube_namespace,
    )
    assert result.exit_code == 0, result.output
    assert "rollout complete" in result.output
    live = apps.read_namespaced_deployment("api", kube_namespace)
    assert port.RESTARTED_AT in live.spec.template.metadata.annotations
    managers = {field.manager for field in live.metadata.managed_fields}
    assert "myctl" in managers
    replicasets = apps.list_namespaced_replica_set(kube_namespace, label_selector="app=api")
    assert len(replicasets.items) == 2  # the controller-manager rolled a new ReplicaSet


def test_dry_run_restart_leaves_the_resource_version_unchanged(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    apps = k8s_client.AppsV1Api(kube_admin)
    # Let the controllers settle first: their status writes would change resourceVersion too.
    polling.wait_until(
        lambda: objects.deployment_available(kube_admin, kube_namespace, "api"), what="api ready"
    )
    before = apps.read_namespaced_deployment("api", kube_namespace).metadata.resource_version
    result = myctl(
        control_plane,
        "--dry-run",
        "restart",
        f"{kube_namespace}/deployment/api",
        cache_ns=kube_namespace,
    )
    assert result.exit_code == 0
    assert f"[dry-run] Would restart deployment: {kube_namespace}/api" in result.output
    after = apps.read_namespaced_deployment("api", kube_namespace).metadata.resource_version
    assert after == before


def test_paused_deployment_is_refused(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "frozen", API, paused=True)
    result = myctl(
        control_plane, "restart", f"{kube_namespace}/deployment/frozen", cache_ns=kube_namespace
    )
    assert result.exit_code == 1
    assert "paused" in result.output
    live = k8s_client.AppsV1Api(kube_admin).read_namespaced_deployment("frozen", kube_namespace)
    assert port.RESTARTED_AT not in (live.spec.template.metadata.annotations or {})


def test_wait_times_out_when_the_new_pods_never_become_ready(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "stuck", API, never_ready=True)
    result = myctl(
        control_plane,
        "restart",
        f"{kube_namespace}/deployment/stuck",
        "--wait",
        "--timeout",
        "4s",
        cache_ns=kube_namespace,
    )
    assert result.exit_code == 1
    assert "timed out" in result.output


def test_orchestrate_exit_codes_end_to_end(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    objects.deployment(kube_admin, kube_namespace, "worker", API)
    scope = ("-n", kube_namespace)
    done = myctl(control_plane, "orchestrate", "--image", API, *scope, cache_ns=kube_namespace)
    assert done.exit_code == 0, done.output
    assert "restarted 2" in done.output
    nothing = myctl(
        control_plane, "orchestrate", "--image", "unused:1", *scope, cache_ns=kube_namespace
    )
    assert nothing.exit_code == 0 and "nothing to do" in nothing.output
    usage = myctl(control_plane, "orchestrate", "--image", "Bad:Ref", cache_ns=kube_namespace)
    assert usage.exit_code == 2
    objects.deployment(kube_admin, kube_namespace, "frozen", API, paused=True)
    myctl(control_plane, "rebuild", "--force", *scope, cache_ns=kube_namespace)
    partial = myctl(control_plane, "orchestrate", "--image", API, *scope, cache_ns=kube_namespace)
    assert partial.exit_code == 3, partial.output
    assert f"Failed deployment: {kube_namespace}/frozen" in partial.output
    for name in ("api", "worker"):
        k8s_client.AppsV1Api(kube_admin).delete_namespaced_deployment(name, kube_namespace)
    myctl(control_plane, "rebuild", "--force", *scope, cache_ns=kube_namespace)
    failed = myctl(control_plane, "orchestrate", "--image", API, *scope, cache_ns=kube_namespace)
    assert failed.exit_code == 1, failed.output


def test_unreadable_kubeconfig_is_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nclusters: [\n")
    runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False)
    result = CliRunner().invoke(parser.cli, ["--kubeconfig", str(broken), "check"], obj=runtime)
    assert result.exit_code == 2
    assert str(broken) in result.output


def test_the_cache_size_limit_matches_what_the_api_server_accepts(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    """Our limit is not arbitrary: the largest payload we allow is stored, a little more is
    refused by the API server itself, with a clear error rather than a truncated cache."""
    import os

    from commands.values import errors

    cluster = client.connect(str(control_plane.kubeconfig), None)
    largest = os.urandom(cachedoc.CONFIGMAP_LIMIT)
    cluster.write_cache(
        kube_namespace,
        "at-limit",
        data={},
        binary_data={cachedoc.BINARY_KEY: largest},
        resource_version=None,
    )
    stored = cluster.read_cache(kube_namespace, "at-limit")
    assert stored is not None and stored.binary_data[cachedoc.BINARY_KEY] == largest
    with pytest.raises(errors.ClusterError) as refused:
        cluster.write_cache(
            kube_namespace,
            "over-limit",
            data={},
            binary_data={cachedoc.BINARY_KEY: os.urandom(1024 * 1024 + 1)},
            resource_version=None,
        )
    assert refused.value.exit_code == 1
    assert cluster.read_cache(kube_namespace, "over-limit") is None
