import dataclasses
import gzip
import json
import random

import pytest

from commands.engine import cachedoc, cachestore, check, rebuild, shards
from commands.kube import memory
from commands.values import clock, errors, events, settings, workloads
from tests.unit.helpers import Recorder, make_engine

Kind = workloads.Kind


@pytest.fixture
def cluster() -> memory.MemoryCluster:
    c = memory.MemoryCluster()
    c.add(Kind.DEPLOYMENT, "shop", "api", "registry.example.com/team/api:1.4.2")
    c.add(Kind.STATEFULSET, "shop", "db", "postgres:16")
    c.add(Kind.DAEMONSET, "infra", "agent", "registry.example.com/agent:3")
    c.add(Kind.DEPLOYMENT, "kube-system", "coredns", "registry.k8s.io/coredns:1.11")
    return c


def test_missing_cache_needs_rebuild(cluster: memory.MemoryCluster) -> None:
    result = check.run(make_engine(cluster))
    assert (result.valid, result.exit_code) == (False, 1)
    assert "no cache ConfigMap myctl/myctl-image-cache" in result.reason


def test_rebuild_writes_a_cache_that_check_finds_valid(cluster: memory.MemoryCluster) -> None:
    fake = clock.FakeClock()
    written = rebuild.run(make_engine(cluster, fake_clock=fake))
    assert written.written and written.exit_code == 0
    assert written.stats.workloads == 3  # kube-system is excluded by default
    assert written.diff.added == (
        "docker.io/library/postgres:16",
        "registry.example.com/agent:3",
        "registry.example.com/team/api:1.4.2",
    )
    result = check.run(make_engine(cluster, fake_clock=fake))
    assert result.valid and result.exit_code == 0
    assert (result.stats.images, result.stats.workloads) == (3, 3)


def test_stale_cache_needs_rebuild_with_its_age(cluster: memory.MemoryCluster) -> None:
    fake = clock.FakeClock()
    rebuild.run(make_engine(cluster, fake_clock=fake))
    fake.advance(601)
    result = check.run(make_engine(cluster, fake_clock=fake))
    assert result.exit_code == 1
    assert "10m old (max_age 10m)" in result.reason


def test_cache_from_another_scope_needs_rebuild(cluster: memory.MemoryCluster) -> None:
    rebuild.run(make_engine(cluster))
    narrower = settings.Scope(namespaces=("shop",))
    result = check.run(make_engine(cluster, scope=narrower))
    assert result.exit_code == 1
    assert "another scope" in result.reason


@pytest.mark.parametrize(
    "data",
    [
        {"cache.json": "{not json"},
        {"cache.json": json.dumps({"schemaVersion": 99})},
        {"cache.json": json.dumps({"schemaVersion": 1, "builtAt": "x", "scope": {}})},
        {"other": "x"},
    ],
)
def test_corrupt_cache_needs_rebuild_and_never_crashes(
    cluster: memory.MemoryCluster, data: dict[str, str]
) -> None:
    cluster.put_cache("myctl", "myctl-image-cache", data)
    result = check.run(make_engine(cluster))
    assert (result.valid, result.exit_code) == (False, 1)
    assert result.reason


def test_check_cannot_tell_without_permission(cluster: memory.MemoryCluster) -> None:
    cluster.forbid("get", "configmaps", "myctl")
    result = check.run(make_engine(cluster))
    assert result.exit_code == 2
    assert 'cannot get configmaps in namespace "myctl"' in result.reason


def test_check_cannot_tell_when_the_api_is_unreachable(cluster: memory.MemoryCluster) -> None:
    cluster.unreachable = True
    assert check.run(make_engine(cluster)).exit_code == 2


def test_dry_run_rebuild_shows_the_diff_and_writes_nothing(cluster: memory.MemoryCluster) -> None:
    recorder = Recorder()
    result = rebuild.run(make_engine(cluster, dry_run=True, recorder=recorder))
    assert (result.written, result.dry_run) == (False, True)
    assert "+ registry.example.com/team/api:1.4.2" in result.diff.lines()
    assert result.summary().startswith("[dry-run] would write cache")
    assert cluster.calls.cache_writes == 0
    assert cluster.read_cache("myctl", "myctl-image-cache") is None
    assert recorder.of(events.StepFinished)[-1].step == "rebuild"


def test_rebuild_diff_reports_removed_and_changed_images(cluster: memory.MemoryCluster) -> None:
    rebuild.run(make_engine(cluster))
    cluster.add(Kind.DEPLOYMENT, "shop", "worker", "registry.example.com/team/api:1.4.2")
    cluster.delete(workloads.WorkloadRef(Kind.STATEFULSET, "shop", "db"))
    result = rebuild.run(make_engine(cluster))
    assert result.diff.removed == ("docker.io/library/postgres:16",)
    assert result.diff.changed == ("registry.example.com/team/api:1.4.2",)


def test_rebuild_paginates_the_scan(cluster: memory.MemoryCluster) -> None:
    for index in range(7):
        cluster.add(Kind.DEPLOYMENT, "bulk", f"d{index}", "nginx:1.27")
    result = rebuild.run(make_engine(cluster, page_size=3))
    assert result.stats.workloads == 10
    deployment_pages = [call for call in cluster.calls.lists if call[0] == "Deployment"]
    assert len(deployment_pages) == 3  # 8 deployments listed, in pages of 3
    assert deployment_pages[1][2] == "continue-3"


def test_conflicting_cache_write_is_retried(cluster: memory.MemoryCluster) -> None:
    rebuild.run(make_engine(cluster))
    cluster.conflict_on_next_writes(2)
    result = rebuild.run(make_engine(cluster))
    assert result.written
    assert cluster.calls.cache_writes == 1 + 3
    assert check.run(make_engine(cluster)).valid  # ours won, nothing lost


def test_endless_conflicts_fail_cleanly(cluster: memory.MemoryCluster) -> None:
    cluster.conflict_on_next_writes(cachestore.MAX_WRITE_ATTEMPTS)
    with pytest.raises(errors.CacheConflict, match="kept changing") as caught:
        rebuild.run(make_engine(cluster))
    assert caught.value.exit_code == 1


def _many_workloads(cluster: memory.MemoryCluster, count: int, *, unique_images: bool) -> None:
    for index in range(count):
        image = f"registry.example.com/team{index % 50}/service-{index}:{index}"
        cluster.add(
            Kind.DEPLOYMENT,
            f"ns-{index % 40}",
            f"service-with-a-long-name-{index:06d}",
            image if unique_images else "nginx:1.27",
        )


def test_large_cache_is_stored_gzip_compressed_and_round_trips() -> None:
    cluster = memory.MemoryCluster()
    _many_workloads(cluster, 3000, unique_images=True)
    result = rebuild.run(make_engine(cluster))
    assert result.stats.compressed
    stored = cluster.read_cache("myctl", "myctl-image-cache")
    assert stored is not None and not stored.data
    raw = gzip.decompress(stored.binary_data[cachedoc.BINARY_KEY])
    assert len(raw) > cachedoc.COMPRESS_THRESHOLD
    verdict = check.run(make_engine(cluster))
    assert verdict.valid and verdict.stats.workloads == 3000 and verdict.stats.compressed


def test_cache_beyond_the_shard_limit_is_refused_with_how_to_narrow() -> None:
    noise = random.Random(7)  # random names do not compress, so gzip cannot rescue them
    document = cachedoc.Document(
        built_at="2026-01-01T09:00:00Z",
        scope=settings.Scope().as_document(),
        images={
            f"registry.example.com/{noise.getrandbits(128):032x}:1": (
                cachedoc.Entry(
                    workloads.WorkloadRef(
                        workloads.Kind.DEPLOYMENT, "ns", f"{noise.getrandbits(128):032x}"
                    ),
                    ("c",),
                ),
            )
            for _ in range(2000)
        },
    )
    with pytest.raises(errors.CacheTooLarge, match="more than 4 shards") as caught:
        shards.layout(document, shard_bytes=4096, max_shards=4, generation="g1")
    assert "cache.max_shards" in str(caught.value) and "narrow the scope" in str(caught.value)
    assert caught.value.exit_code == 1


def test_scope_selector_and_kinds_limit_the_scan(cluster: memory.MemoryCluster) -> None:
    cluster.add(Kind.DEPLOYMENT, "shop", "labelled", "nginx:1.27", labels={"team": "a"})
    scope = dataclasses.replace(settings.Scope(), selector="team=a", kinds=(Kind.DEPLOYMENT,))
    result = rebuild.run(make_engine(cluster, scope=scope))
    assert result.stats.workloads == 1
