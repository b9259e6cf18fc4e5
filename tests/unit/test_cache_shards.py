"""The sharded cache on the in-memory cluster: planning, generations, stale shards, readers."""

from __future__ import annotations

import hashlib

import pytest

from commands.engine import cachedoc, check, rebuild, select, shards
from commands.kube import memory
from commands.values import clock, config, errors, images, settings, workloads
from tests.unit.helpers import make_engine

Kind = workloads.Kind
NS, NAME = "myctl", "myctl-image-cache"
# Small enough that a few hundred workloads need several shards (gzip included).
SHARD_BYTES = 2048


def _noise(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]  # like generated names: compress badly


def _populate(cluster: memory.MemoryCluster, count: int, *, start: int = 0) -> None:
    for index in range(start, start + count):
        app = index % 60
        image = f"registry.example.com/team/app-{app}-{_noise(str(app))}:v{index // 60 % 3}"
        cluster.add(Kind.DEPLOYMENT, f"ns-{index % 7}", f"svc-{index}-{_noise(str(index))}", image)


def _engine(cluster: memory.MemoryCluster, fake: clock.FakeClock, **cache: int) -> object:
    chosen = settings.CacheSettings(shard_bytes=cache.get("shard_bytes", SHARD_BYTES))
    return make_engine(cluster, fake_clock=fake, cache=chosen)


def _shard_names(cluster: memory.MemoryCluster) -> list[str]:
    return [name for name in cluster.configmaps.names(NS) if name != NAME]


def test_a_large_document_is_planned_over_shards_that_each_fit() -> None:
    cluster = memory.MemoryCluster()
    _populate(cluster, 400)
    document = cachedoc.build(
        rebuild.scan(make_engine(cluster)), settings.Scope(), "2026-01-01T09:00:00Z"
    )
    plan = shards.layout(document, shard_bytes=SHARD_BYTES, max_shards=16, generation="g1")
    assert len(plan.shards) >= 3
    assert all(shard.size_bytes <= SHARD_BYTES for shard in plan.shards)
    assert plan.index.size_bytes <= SHARD_BYTES
    # Every tag of a repository lands in the shard its repository hashes to.
    for key in document.images:
        repository = images.parse(key).repository
        assert shards.shard_of(key, len(plan.shards)) == shards.shard_of(
            f"{repository}:other", len(plan.shards)
        )


def test_a_small_document_stays_one_configmap() -> None:
    cluster = memory.MemoryCluster()
    _populate(cluster, 5)
    document = cachedoc.build(rebuild.scan(make_engine(cluster)), settings.Scope(), "t")
    plan = shards.layout(document, shard_bytes=SHARD_BYTES, max_shards=16, generation="g1")
    assert plan.shards == () and plan.generation is None


def test_sharded_cache_round_trips_and_select_reads_index_and_one_shard() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    written = rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert written.stats.shards >= 3
    assert len(_shard_names(cluster)) == written.stats.shards
    verdict = check.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert verdict.valid, verdict.reason
    assert (verdict.stats.workloads, verdict.stats.shards) == (400, written.stats.shards)
    image = images.parse(f"registry.example.com/team/app-7-{_noise('7')}:v1")
    cluster.configmaps.calls.reads.clear()
    found = select.run(_engine(cluster, fake), [image])  # type: ignore[arg-type]
    assert len(found.matches) == len([i for i in range(400) if i % 60 == 7 and i // 60 % 3 == 1])
    wanted_shard = shards.shard_of(str(image), written.stats.shards)
    assert cluster.configmaps.calls.reads == [NAME, shards.shard_name(NAME, wanted_shard)]


def test_select_by_repository_reads_only_that_repositorys_shard() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    written = rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    image = images.parse(f"registry.example.com/team/app-7-{_noise('7')}")
    cluster.configmaps.calls.reads.clear()
    found = select.run(  # type: ignore[arg-type]
        _engine(cluster, fake), [image], images.MatchMode.REPOSITORY
    )
    assert {match.image.rsplit(":", 1)[1] for match in found.matches} == {"v0", "v1", "v2"}
    assert len(cluster.configmaps.calls.reads) == 2
    assert written.stats.shards >= 3


def test_each_rebuild_writes_a_new_generation_named_by_the_index() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    generations = []
    for _ in range(2):
        rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
        stored = cluster.read_cache(NS, NAME)
        assert stored is not None
        sharding = shards.sharding_of(cachedoc.load_payload(stored))
        assert sharding is not None
        for number in range(sharding.count):
            shard = cluster.read_cache(NS, shards.shard_name(NAME, number))
            assert shard is not None
            payload = cachedoc.load_payload(shard)
            assert isinstance(payload, dict) and payload["generation"] == sharding.generation
        generations.append(sharding.generation)
    assert generations[0] != generations[1]


def test_stale_shards_are_deleted_when_the_cache_shrinks() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    big = rebuild.run(_engine(cluster, fake, shard_bytes=1024))  # type: ignore[arg-type]
    assert big.stats.shards >= 4
    smaller = rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert 2 <= smaller.stats.shards < big.stats.shards
    assert _shard_names(cluster) == sorted(
        shards.shard_name(NAME, n) for n in range(smaller.stats.shards)
    )
    assert check.run(_engine(cluster, fake)).valid  # type: ignore[arg-type]
    # Small enough for one ConfigMap again: every shard goes.
    unsharded = rebuild.run(_engine(cluster, fake, shard_bytes=1024 * 1024 - 4096))  # type: ignore[arg-type]
    assert unsharded.stats.shards == 0 and _shard_names(cluster) == []


def test_shards_left_behind_a_corrupt_index_are_swept() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 5)
    cluster.put_cache(NS, NAME, {"cache.json": "not json"})
    cluster.put_cache(NS, shards.shard_name(NAME, 9), {"cache.json": "{}"})
    assert rebuild.run(_engine(cluster, fake)).stats.shards == 0  # type: ignore[arg-type]
    assert _shard_names(cluster) == []


def test_a_missing_shard_needs_rebuild() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    image = images.parse(f"registry.example.com/team/app-7-{_noise('7')}:v1")
    count = len(_shard_names(cluster))
    cluster.configmaps.remove(NS, shards.shard_name(NAME, shards.shard_of(str(image), count)))
    verdict = check.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert verdict.exit_code == 1 and "is missing" in verdict.reason
    with pytest.raises(errors.CacheInvalid, match=r"is missing.*myctl rebuild") as caught:
        select.run(_engine(cluster, fake), [image])  # type: ignore[arg-type]
    assert caught.value.exit_code == 2


def test_a_reader_during_a_rebuild_never_mixes_generations() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    image = images.parse(f"registry.example.com/team/app-7-{_noise('7')}:v1")
    seen: list[str] = []

    def read_between(name: str) -> None:
        # The new shards are written, the index still names the old generation.
        if name == NAME and not seen:
            seen.append(check.run(_engine(cluster, fake)).reason)  # type: ignore[arg-type]
            with pytest.raises(errors.CacheInvalid, match="generation"):
                select.run(_engine(cluster, fake), [image])  # type: ignore[arg-type]

    _populate(cluster, 50, start=400)  # the new generation differs
    cluster.configmaps.before_write = read_between
    rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    cluster.configmaps.before_write = None
    assert seen and "generation" in seen[0]
    after = check.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert after.valid and after.stats.workloads == 450


def test_a_shard_rewritten_once_while_reading_is_read_again() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock()
    _populate(cluster, 400)
    rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    engine = _engine(cluster, fake)
    first = check.inspect(engine, all_shards=False)  # type: ignore[arg-type]
    rebuild.run(_engine(cluster, fake))  # type: ignore[arg-type]
    assert first.document is not None
    with pytest.raises(shards.ShardError):
        first.document.images["docker.io/library/nginx:1"]  # the old index's shards are gone
    image = images.parse(f"registry.example.com/team/app-7-{_noise('7')}:v1")
    assert select.run(engine, [image]).matches  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"shard_bytes": 100}, "cache.shard_bytes: expected 1024 to 1044480"),
        ({"shard_bytes": 2_000_000}, "cache.shard_bytes: expected 1024 to 1044480"),
        ({"max_shards": 1}, "cache.max_shards: expected 2 to 256"),
        ({"max_shards": "many"}, "cache.max_shards: expected a positive integer"),
    ],
)
def test_bad_shard_settings_are_configuration_errors(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.ConfigError, match=message):
        config.parse({"cache": section})


def test_shard_settings_are_read_from_configuration() -> None:
    parsed = config.parse({"cache": {"shard_bytes": 4096, "max_shards": 32}})
    assert (parsed.cache.shard_bytes, parsed.cache.max_shards) == (4096, 32)
    assert settings.SHARD_BYTES_LIMIT == cachedoc.CONFIGMAP_LIMIT
