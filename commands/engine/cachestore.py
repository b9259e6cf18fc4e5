"""Reading and writing the cache as stored: one ConfigMap, or an index plus shards.

Write order for a sharded cache: every shard of the new generation, then the index (the
moment readers switch), then the shards the new index does not name are deleted. Each write
is optimistic (resourceVersion); a conflict on any of them re-reads the index and writes the
whole generation again, so the last complete writer's index always names its own shards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from commands.engine import cachedoc, cacheskim, shards
from commands.engine.context import Engine
from commands.kube import port
from commands.values import errors, events

# A conflict means another writer (another replica, a concurrent CLI) replaced the cache in
# between; ours is at least as fresh, so re-read the version and write again, a few times.
MAX_WRITE_ATTEMPTS = 5
STEP = "rebuild"


@dataclass(frozen=True)
class Stored:
    index: port.CacheObject  # the ConfigMap named by cache.name
    document: cachedoc.Document
    sharding: shards.Sharding | None  # None: the whole document is in `index`
    size_bytes: int
    compressed: bool


def read(engine: Engine, *, all_shards: bool) -> Stored | None:
    """The stored cache, or None when there is none. Raises `ClusterError` (cannot tell) and
    `cachedoc.Corrupt` (needs rebuild; `shards.ShardError` when a shard does not belong).

    With `all_shards` every shard is read and checked now (what `check` promises); without,
    shards are read when an image in them is looked up (what `select` needs)."""
    cache = engine.settings.cache
    index = engine.cluster.read_cache(cache.namespace, cache.name)
    if index is None:
        return None
    text = cachedoc.payload_text(index)
    # An unsharded cache in its canonical form: only the images looked up are decoded (select),
    # or every entry is checked without building them (check, which then decodes nothing).
    skimmed = cacheskim.skim(text, validated=all_shards)
    if skimmed is not None:
        return Stored(index, skimmed, None, *cachedoc.stored_size(index))
    payload = cachedoc.parse(text)
    sharding = shards.sharding_of(payload)
    if sharding is None:
        size, compressed = cachedoc.stored_size(index)
        return Stored(index, cachedoc.from_json(payload), None, size, compressed)
    header = cachedoc.header_of(payload, shards.SHARD_SCHEMA)
    assert isinstance(payload, dict)  # sharding_of returned a record, so it is an object
    image_count = payload.get("images")
    if not isinstance(image_count, int) or isinstance(image_count, bool):
        raise cachedoc.Corrupt("the cache index has no image count")
    mapping = shards.ShardedImages(
        engine.cluster, cache.namespace, cache.name, sharding, image_count
    )
    if all_shards:
        mapping.load_all()
    document = cachedoc.Document(header.built_at, header.scope, mapping, header.workloads)
    return Stored(index, document, sharding, sharding.bytes, compressed=True)


def layout(engine: Engine, document: cachedoc.Document) -> shards.Layout:
    cache = engine.settings.cache
    return shards.layout(
        document,
        shard_bytes=cache.shard_bytes,
        max_shards=cache.max_shards,
        generation=uuid.uuid4().hex[:16],
    )


def write(
    engine: Engine,
    chosen: shards.Layout,
    version: str | None,
    previous: shards.Sharding | None,
    previous_known: bool,
) -> None:
    """Write `chosen` over the index read at `version`; then delete stale shards.

    `previous` is the sharding of the cache being replaced, and `previous_known` whether it was
    read at all (a missing or corrupt index may have left shards behind: sweep them all)."""
    cache = engine.settings.cache
    cluster = engine.cluster
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        try:
            for number, shard in enumerate(chosen.shards):
                _put(engine, shards.shard_name(cache.name, number), shard)
            cluster.write_cache(
                cache.namespace,
                cache.name,
                data=chosen.index.data,
                binary_data=chosen.index.binary_data,
                resource_version=version,
            )
            break
        except errors.CacheConflict:
            current = cluster.read_cache(cache.namespace, cache.name)
            version = current.resource_version if current else None
            previous_known = False  # someone else wrote: their shards may be anywhere
    else:
        # The shards have fixed names (the Role lists them), so ours replaced the ones the
        # index there names: say that readers will be told to rebuild, never mixed generations.
        damage = "; its shards were replaced, so the cache needs a rebuild" if chosen.shards else ""
        raise errors.CacheConflict(
            f"the cache ConfigMap {cache.namespace}/{cache.name} kept changing during "
            f"{MAX_WRITE_ATTEMPTS} write attempts; the index was not written{damage}"
        )
    if chosen.shards or previous is not None or not previous_known:
        sweep(engine, keep=len(chosen.shards))


def sweep(engine: Engine, *, keep: int) -> list[str]:
    """Delete `NAME-keep` … `NAME-(max_shards-1)`: none of them is named by the index just
    written. Returns the names deleted. Every name is tried (a delete of a missing shard is one
    cheap 404), so shards left by an interrupted rebuild go too."""
    cache = engine.settings.cache
    deleted = []
    for number in range(keep, cache.max_shards):
        name = shards.shard_name(cache.name, number)
        try:
            if engine.cluster.delete_cache(cache.namespace, name):
                deleted.append(name)
        except errors.CacheConflict:
            continue  # rewritten since: a newer writer's, and its own sweep decides
        except errors.PermissionDenied as exc:
            # The index is written and names only its own shards, so the cache is good; a Role
            # without these names (another cache.name, a larger max_shards) only leaves litter.
            engine.report(events.Note(STEP, f"stale cache shards not deleted: {exc}", warning=True))
            break
    return deleted


def _put(engine: Engine, name: str, shard: cachedoc.Encoded) -> None:
    """Create or replace one shard at the version it has now (a conflict goes to the caller)."""
    cache = engine.settings.cache
    current = engine.cluster.read_cache(cache.namespace, name)
    engine.cluster.write_cache(
        cache.namespace,
        name,
        data=shard.data,
        binary_data=shard.binary_data,
        resource_version=current.resource_version if current else None,
    )
