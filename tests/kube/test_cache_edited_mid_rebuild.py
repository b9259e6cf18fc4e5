"""Someone else writes the cache ConfigMap between our read and our write, on the real API server
(a single ConfigMap and a sharded one): the resourceVersion conflict (409) is retried, and what is
stored afterwards is one writer's whole cache — `check` valid, `select` finds every workload.
When the other writer keeps winning, the rebuild stops after a bounded number of attempts with
`CacheConflict`, saying the cache needs a rebuild; readers are told so (never handed a mix of
generations) and the next rebuild repairs it."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pytest
from kubernetes import client as k8s_client

from commands.engine import check, rebuild, select
from commands.engine.context import Engine
from commands.kube import client, port
from commands.values import errors, images, settings
from tests.kube import objects
from tests.support import controlplane as cp

pytestmark = pytest.mark.kube
CACHE = "myctl-image-cache"
# Names that compress like generated ones: 30 of them are ~1.5 KiB gzip, a few shards of 512.
IMAGES = tuple(
    f"registry.example.com/team/app-{n}-{hashlib.sha1(str(n).encode()).hexdigest()}:v1"
    for n in range(30)
)
SHARDED = 512
WHOLE = settings.CacheSettings().shard_bytes


class OtherWriterFirst:
    """The real adapter, except that before each of our next `times` writes of the cache index
    another writer (the admin client) replaces it, as a second replica's rebuild would."""

    def __init__(self, real: port.Cluster, other: Any, times: int) -> None:
        self._real = real
        self._other = other
        self.pending = times
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def write_cache(self, namespace: str, name: str, **kwargs: Any) -> str:
        if name == CACHE and self.pending and kwargs.get("resource_version") is not None:
            self.pending -= 1
            self._other(namespace)
        try:
            return self._real.write_cache(namespace, name, **kwargs)
        except errors.CacheConflict:
            self.conflicts += 1
            raise


def _engine(plane: cp.ControlPlane, namespace: str, shard_bytes: int, wrap: Any = None) -> Engine:
    real = client.connect(str(plane.kubeconfig), None)
    cache = settings.CacheSettings(namespace=namespace, shard_bytes=shard_bytes)
    scope = settings.Scope(namespaces=(namespace,))
    return Engine(
        cluster=wrap(real) if wrap else real, settings=settings.Settings(cache=cache, scope=scope)
    )


def _touch(admin: k8s_client.ApiClient) -> Any:
    """Another writer: rewrites the index with a new annotation (a new value each time: an
    update that changes nothing does not move the resourceVersion)."""
    edits = itertools.count(1)

    def write(namespace: str) -> None:
        core = k8s_client.CoreV1Api(admin)
        current = core.read_namespaced_config_map(CACHE, namespace)
        current.metadata.annotations = {"example.com/edited-by": f"someone-else-{next(edits)}"}
        core.replace_namespaced_config_map(CACHE, namespace, current)

    return write


def _all_found(engine: Engine) -> None:
    for n, image in enumerate(IMAGES):
        found = select.run(engine, [images.parse(image)])
        assert {m.workload.name for m in found.matches} == {f"app-{n}"}, image


@pytest.fixture
def workloads(kube_namespace: str, kube_admin: k8s_client.ApiClient) -> str:
    for n, image in enumerate(IMAGES):
        objects.deployment(kube_admin, kube_namespace, f"app-{n}", image, replicas=0)
    return kube_namespace


@pytest.mark.parametrize("shard_bytes", [WHOLE, SHARDED], ids=["one-configmap", "sharded"])
def test_a_cache_edited_by_someone_else_mid_rebuild_is_retried_and_consistent(
    control_plane: cp.ControlPlane, kube_admin: k8s_client.ApiClient, workloads: str,
    shard_bytes: int,
) -> None:  # fmt: skip
    first = rebuild.run(_engine(control_plane, workloads, shard_bytes))
    assert (first.stats.shards > 1) == (shard_bytes == SHARDED)
    wrapped: list[OtherWriterFirst] = []

    def wrap(real: port.Cluster) -> OtherWriterFirst:
        wrapped.append(OtherWriterFirst(real, _touch(kube_admin), times=2))
        return wrapped[0]

    result = rebuild.run(_engine(control_plane, workloads, shard_bytes, wrap))

    assert wrapped[0].conflicts == 2 and wrapped[0].pending == 0
    assert result.stats.workloads == len(IMAGES)
    reader = _engine(control_plane, workloads, shard_bytes)
    verdict = check.run(reader)
    assert verdict.valid and verdict.stats.shards == result.stats.shards
    _all_found(reader)


def test_a_cache_another_writer_keeps_replacing_fails_the_rebuild_saying_so_then_is_repaired(
    control_plane: cp.ControlPlane, kube_admin: k8s_client.ApiClient, workloads: str
) -> None:
    rebuild.run(_engine(control_plane, workloads, SHARDED))
    wrapped: list[OtherWriterFirst] = []

    def wrap(real: port.Cluster) -> OtherWriterFirst:
        wrapped.append(OtherWriterFirst(real, _touch(kube_admin), times=1_000))
        return wrapped[0]

    with pytest.raises(errors.CacheConflict, match="kept changing") as failed:
        rebuild.run(_engine(control_plane, workloads, SHARDED, wrap))

    assert "needs a rebuild" in str(failed.value)  # (was: silent about the replaced shards)
    assert wrapped[0].conflicts == 5  # bounded: MAX_WRITE_ATTEMPTS, then it stops
    reader = _engine(control_plane, workloads, SHARDED)
    verdict = check.run(reader)
    assert not verdict.valid and "generation" in verdict.reason  # told, never mixed
    with pytest.raises(errors.CacheInvalid):
        select.run(reader, [images.parse(IMAGES[0])])
    rebuild.run(_engine(control_plane, workloads, SHARDED))
    assert check.run(reader).valid
    _all_found(reader)
