"""The sharded cache: a document too large for one ConfigMap, split over `NAME-0` … `NAME-(n-1)`.

The index (in `NAME` itself) records everything `check` reports plus which generation of
shards it belongs to:

{"schemaVersion": 2, "builtAt": …, "scope": {…}, "workloads": 100000, "images": 5000,
 "shards": {"generation": "3f9a…", "count": 3, "bytes": 1834112}}

and each shard holds the images whose normalized *repository* hashes to it:

{"schemaVersion": 2, "generation": "3f9a…", "shard": 1, "count": 3, "images": {…}}

Sharding by repository (not by full reference) keeps every tag and digest of a repository in
one shard, so `select` in either match mode reads the index and one shard per image. A shard
whose generation is not the index's is never used alongside it (see `ShardedImages`).
No I/O here beyond what the `port.Cluster` given to `ShardedImages` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from commands.engine import cachedoc
from commands.kube import port
from commands.values import errors, images

SHARD_SCHEMA = 2
# Names the RBAC Role lists (resourceNames cannot be patterns): `cache.max_shards` above this
# needs the Role extended too, see docs/configuration.md.
DEFAULT_MAX_SHARDS = 16


def shard_name(name: str, index: int) -> str:
    return f"{name}-{index}"


def shard_of(image_key: str, count: int) -> int:
    """Which of `count` shards holds `image_key`: a stable hash of its repository."""
    ref = images.try_parse(image_key)
    repository = ref.repository if ref else image_key
    import hashlib  # here: an unsharded cache never needs it, and it is ~3 ms of a CLI start

    digest = hashlib.sha256(repository.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Sharding:
    generation: str
    count: int
    bytes: int  # index + every shard, as stored


@dataclass(frozen=True)
class Layout:
    """What `rebuild` writes: the index (or the whole document), then the shards."""

    index: cachedoc.Encoded
    shards: tuple[cachedoc.Encoded, ...] = ()
    generation: str | None = None

    @property
    def size_bytes(self) -> int:
        return self.index.size_bytes + sum(shard.size_bytes for shard in self.shards)

    @property
    def compressed(self) -> bool:
        return self.index.compressed or any(shard.compressed for shard in self.shards)


def layout(
    document: cachedoc.Document, *, shard_bytes: int, max_shards: int, generation: str
) -> Layout:
    """One ConfigMap when the encoded document fits `shard_bytes`; else the fewest shards (at
    least 2) that each fit, up to `max_shards`. Never truncated: too large raises."""
    whole = cachedoc.encode_payload(cachedoc.to_json(document), shard_bytes)
    if whole.size_bytes <= shard_bytes:
        return Layout(whole)
    raw = cachedoc.raw_images(document)
    count = min(max(2, math.ceil(whole.size_bytes / shard_bytes)), max_shards)
    while True:
        groups: list[dict[str, Any]] = [{} for _ in range(count)]
        for image, entries in raw.items():
            groups[shard_of(image, count)][image] = entries
        encoded = tuple(
            cachedoc.encode_payload(
                {
                    "schemaVersion": SHARD_SCHEMA,
                    "generation": generation,
                    "shard": index,
                    "count": count,
                    "images": group,
                },
                shard_bytes,
            )
            for index, group in enumerate(groups)
        )
        largest = max(shard.size_bytes for shard in encoded)
        if largest <= shard_bytes:
            break
        if count >= max_shards:
            raise errors.CacheTooLarge(
                f"the image cache needs more than {max_shards} shards of {shard_bytes:,} bytes "
                f"(cache.max_shards, cache.shard_bytes; largest shard {largest:,} bytes): raise "
                "cache.max_shards (and the Role's resourceNames), or narrow the scope"
            )
        # Hashing spreads repositories evenly, so grow by how far the largest one is over.
        count = min(max(count + 1, math.ceil(count * largest / shard_bytes)), max_shards)
    shards_bytes = sum(shard.size_bytes for shard in encoded)
    index_payload: dict[str, Any] = {
        "schemaVersion": SHARD_SCHEMA,
        "builtAt": document.built_at,
        "scope": dict(document.scope),
        "workloads": document.workload_count,
        "images": len(raw),
        "shards": {"generation": generation, "count": count, "bytes": shards_bytes},
    }
    # The index records the total it is part of, its own few hundred bytes included.
    own = cachedoc.encode_payload(index_payload, shard_bytes).size_bytes
    index_payload["shards"]["bytes"] = shards_bytes + own
    index = cachedoc.encode_payload(index_payload, shard_bytes)
    return Layout(index, encoded, generation)


def sharding_of(payload: object) -> Sharding | None:
    """The index's `shards` record, or None for an unsharded document. Raises `Corrupt`."""
    if not isinstance(payload, dict) or payload.get("schemaVersion") != SHARD_SCHEMA:
        return None
    record = payload.get("shards")
    if not isinstance(record, dict):
        raise cachedoc.Corrupt("the cache index has no shards record")
    generation, count, size = record.get("generation"), record.get("count"), record.get("bytes")
    if not (isinstance(generation, str) and generation and _positive(count) and _positive(size)):
        raise cachedoc.Corrupt(f"the cache index has a malformed shards record: {record}")
    assert isinstance(count, int) and isinstance(size, int)  # checked by _positive
    return Sharding(generation, count, size)


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class ShardError(cachedoc.Corrupt):
    """A shard is missing, unreadable, or of another generation than the index."""


class ShardedImages(Mapping[str, tuple[cachedoc.Entry, ...]]):
    """The `images` of a sharded cache, reading a shard the first time an image in it is wanted.

    Raises `ShardError` from lookups when a shard does not belong to the index: the caller
    re-reads once, then reports the cache as needing a rebuild (it never mixes generations)."""

    def __init__(
        self,
        cluster: port.Cluster,
        namespace: str,
        name: str,
        sharding: Sharding,
        image_count: int,
    ) -> None:
        self._cluster = cluster
        self._namespace = namespace
        self._name = name
        self.sharding = sharding
        self._count = image_count
        self._loaded: dict[int, cachedoc.LazyImages] = {}

    @property
    def loaded(self) -> tuple[int, ...]:
        return tuple(sorted(self._loaded))

    def shard(self, index: int) -> Mapping[str, tuple[cachedoc.Entry, ...]]:
        found = self._loaded.get(index)
        if found is None:
            found = self._loaded[index] = cachedoc.LazyImages(self._read(index))
        return found

    def shard_holding(self, image_key: str) -> Mapping[str, tuple[cachedoc.Entry, ...]]:
        return self.shard(shard_of(image_key, self.sharding.count))

    def load_all(self) -> None:
        for index in range(self.sharding.count):
            self.shard(index)

    def __getitem__(self, image: str) -> tuple[cachedoc.Entry, ...]:
        return self.shard_holding(image)[image]

    def __contains__(self, image: object) -> bool:
        return isinstance(image, str) and image in self.shard_holding(image)

    def __iter__(self) -> Iterator[str]:
        self.load_all()
        return iter(sorted(key for index in self.loaded for key in self._loaded[index]))

    def __len__(self) -> int:
        return self._count

    def _read(self, index: int) -> dict[str, list[Mapping[str, Any]]]:
        name = shard_name(self._name, index)
        stored = self._cluster.read_cache(self._namespace, name)
        if stored is None:
            raise ShardError(f"cache shard {self._namespace}/{name} is missing")
        try:
            payload = cachedoc.load_payload(stored)
        except cachedoc.Corrupt as exc:
            raise ShardError(f"cache shard {name}: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("schemaVersion") != SHARD_SCHEMA:
            raise ShardError(f"cache shard {name} is not a shard of schema {SHARD_SCHEMA}")
        generation = payload.get("generation")
        if generation != self.sharding.generation or payload.get("shard") != index:
            raise ShardError(
                f"cache shard {name} is of generation {generation!r}, the index names "
                f"{self.sharding.generation!r} (a rebuild is in progress or was interrupted)"
            )
        try:
            return cachedoc.validated_images(payload)
        except cachedoc.Corrupt as exc:
            raise ShardError(f"cache shard {name}: {exc}") from exc
