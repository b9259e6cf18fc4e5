"""The sharded cache against the real API server: round trip, concurrent rebuilds, lost shards."""

from __future__ import annotations

import concurrent.futures
import hashlib
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client

from commands.cli import main, parser
from commands.engine import check, rebuild, select, shards
from commands.engine.context import Engine
from commands.kube import client
from commands.values import errors, images, settings
from tests.kube import objects
from tests.support import controlplane as cp

pytestmark = pytest.mark.kube
CACHE = "myctl-image-cache"
WORKLOADS = 150
# With names that compress like generated ones, 150 workloads are ~6 KiB gzip: >= 3 shards.
SHARD_BYTES = 1024


def _image(index: int) -> str:
    app = index % 50
    noise = hashlib.sha1(str(app).encode()).hexdigest()[:20]
    return f"registry.example.com/team/app-{app}-{noise}:v{index // 50}"


@pytest.fixture
def populated(kube_namespace: str, kube_admin: k8s_client.ApiClient) -> str:
    def create(index: int) -> None:
        name = f"svc-{index}-{hashlib.sha1(str(index).encode()).hexdigest()[:20]}"
        objects.deployment(kube_admin, kube_namespace, name, _image(index), replicas=0)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(WORKLOADS)))
    return kube_namespace


def _engine(control_plane: cp.ControlPlane, namespace: str, shard_bytes: int) -> Engine:
    cache = settings.CacheSettings(namespace=namespace, shard_bytes=shard_bytes)
    scope = settings.Scope(namespaces=(namespace,))
    return Engine(
        cluster=client.connect(str(control_plane.kubeconfig), None),
        settings=settings.Settings(cache=cache, scope=scope),
    )


def _expected(index_of_image: int) -> set[str]:
    wanted = _image(index_of_image)
    return {f"{i}" for i in range(WORKLOADS) if _image(i) == wanted}


def _names(result: object) -> set[str]:
    assert hasattr(result, "matches")
    return {match.workload.name.split("-")[1] for match in result.matches}


def test_a_cache_forced_into_shards_round_trips_reading_index_and_one_shard(
    control_plane: cp.ControlPlane, populated: str
) -> None:
    engine = _engine(control_plane, populated, SHARD_BYTES)
    written = rebuild.run(engine)
    assert written.stats.shards >= 3 and written.stats.workloads == WORKLOADS
    verdict = check.run(engine)
    assert verdict.valid and verdict.stats.shards == written.stats.shards
    cluster = engine.cluster
    assert isinstance(cluster, client.KubeCluster)
    used = set()
    for index in range(50):  # every application, so images in several shards are found
        ref = images.parse(_image(index))
        used.add(shards.shard_of(str(ref), written.stats.shards))
        before = cluster.requests
        found = select.run(engine, [ref])
        assert _names(found) == _expected(index)
        assert cluster.requests - before == 2  # the index and the one shard that holds it
    assert len(used) >= 3


def test_a_concurrent_rebuild_never_lets_a_reader_mix_generations(
    control_plane: cp.ControlPlane, populated: str
) -> None:
    # Two writers with different shard counts: a reader that combined one generation's index
    # with another's shards would look in the wrong shard and find nothing.
    small = _engine(control_plane, populated, SHARD_BYTES)
    large = _engine(control_plane, populated, 2 * SHARD_BYTES)
    assert rebuild.run(small).stats.shards != rebuild.run(large).stats.shards
    done = threading.Event()
    outcomes: dict[str, int] = {"found": 0, "needs rebuild": 0}

    def write() -> None:
        try:
            for round_ in range(6):
                rebuild.run(small if round_ % 2 else large)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reader = _engine(control_plane, populated, SHARD_BYTES)
    try:
        while not done.is_set() or outcomes["found"] == 0:
            index = (outcomes["found"] + outcomes["needs rebuild"]) % 50
            try:
                found = select.run(reader, [images.parse(_image(index))])
            except errors.CacheInvalid as exc:
                assert "generation" in str(exc) or "missing" in str(exc), exc
                outcomes["needs rebuild"] += 1
                continue
            assert _names(found) == _expected(index)  # never a partial or foreign answer
            outcomes["found"] += 1
    finally:
        writer.join(timeout=120)
    assert outcomes["found"] > 0
    assert check.run(reader).valid


def _myctl(control_plane: cp.ControlPlane, tmp_path: Path, namespace: str, *args: str) -> Result:
    config = tmp_path / "myctl.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cache": {"namespace": namespace, "shard_bytes": SHARD_BYTES},
                "scope": {"namespaces": [namespace]},
            }
        )
    )
    runtime = main.Runtime(
        environ={"MYCTL_CONFIG": str(config)},
        stdin_is_tty=lambda: False,
        stderr_is_tty=lambda: False,
    )
    argv = ["--kubeconfig", str(control_plane.kubeconfig), *args]
    return CliRunner().invoke(parser.cli, argv, obj=runtime)


def test_a_removed_shard_is_needs_rebuild_for_check_and_select(
    control_plane: cp.ControlPlane, populated: str, tmp_path: Path
) -> None:
    built = _myctl(control_plane, tmp_path, populated, "rebuild", "--force")
    assert built.exit_code == 0 and "shards" in built.output, built.output
    assert _myctl(control_plane, tmp_path, populated, "check").exit_code == 0
    image = _image(4)
    listed = control_plane.request("GET", f"/api/v1/namespaces/{populated}/configmaps")
    count = sum(1 for item in listed["items"] if item["metadata"]["name"].startswith(f"{CACHE}-"))
    assert count >= 3
    lost = shards.shard_of(str(images.parse(image)), count)
    control_plane.request("DELETE", f"/api/v1/namespaces/{populated}/configmaps/{CACHE}-{lost}")
    checked = _myctl(control_plane, tmp_path, populated, "check")
    assert checked.exit_code == 1 and f"{CACHE}-{lost} is missing" in checked.output
    selected = _myctl(control_plane, tmp_path, populated, "select", image)
    assert selected.exit_code == 2 and "is missing" in selected.output, selected.output
    # A rebuild repairs it.
    assert _myctl(control_plane, tmp_path, populated, "rebuild", "--force").exit_code == 0
    assert _myctl(control_plane, tmp_path, populated, "select", image).exit_code == 0
