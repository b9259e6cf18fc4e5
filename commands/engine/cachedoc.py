"""The cache document: one JSON object in a ConfigMap, gzip-compressed in binaryData when large.

Past what one ConfigMap holds it is split over shard ConfigMaps (`commands.engine.shards`); this
module is the document itself and the encoding of one ConfigMap's payload.

{"schemaVersion": 1, "builtAt": "2026-01-01T09:00:00Z",
 "scope": {"namespaces": [], "excludeNamespaces": [...], "selector": "", "kinds": [...]},
 "images": {"docker.io/library/nginx:1.27": [
     {"kind": "Deployment", "namespace": "web", "name": "front", "containers": ["nginx"]}]}}
"""

from __future__ import annotations

import gc
import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.kube import port
from commands.values import images, settings, workloads

SCHEMA_VERSION = 1
DATA_KEY = "cache.json"
BINARY_KEY = "cache.json.gz"
# The API server rejects ConfigMaps whose data and binaryData exceed 1 MiB (1,048,576 bytes,
# as for Secrets); keys, the labels and the scope are tiny, so 4 KiB of headroom is ample.
CONFIGMAP_LIMIT = 1024 * 1024 - 4096
# Below this the document stays plain JSON so `kubectl get cm -o yaml` is readable by people;
# above it we compress, which typically shrinks image lists 10-20x.
COMPRESS_THRESHOLD = 256 * 1024


@dataclass(frozen=True)
class Entry:
    """One workload that runs an image, with the containers that run it."""

    ref: workloads.WorkloadRef
    containers: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    built_at: str
    scope: Mapping[str, Any]
    images: Mapping[str, tuple[Entry, ...]]
    # Stored at build time so reading a 10k-workload cache does not walk every entry.
    workloads: int | None = field(default=None, compare=False)

    @property
    def workload_count(self) -> int:
        if self.workloads is not None:
            return self.workloads
        return len({entry.ref for entries in self.images.values() for entry in entries})


class LazyImages(Mapping[str, tuple[Entry, ...]]):
    """The decoded `images` map, turning JSON entries into `Entry` values on first access.

    `select` looks up one or two images; building ~10k `Entry` objects for every read would
    cost more than the lookup (and the API round trip) together. Entries were validated by
    `from_json` already, so conversion cannot fail here."""

    def __init__(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> None:
        self.raw = raw
        self._converted: dict[str, tuple[Entry, ...]] = {}

    def __getitem__(self, image: str) -> tuple[Entry, ...]:
        entries = self._converted.get(image)
        if entries is None:
            entries = tuple(
                Entry(
                    workloads.WorkloadRef(
                        workloads.Kind(item["kind"]), item["namespace"], item["name"]
                    ),
                    tuple(item["containers"]),
                )
                for item in self.raw[image]
            )
            self._converted[image] = entries
        return entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, image: object) -> bool:
        return image in self.raw


@dataclass(frozen=True)
class Encoded:
    data: Mapping[str, str]
    binary_data: Mapping[str, bytes]
    size_bytes: int
    compressed: bool


class Corrupt(Exception):
    """The stored document cannot be used; the message is the reason shown by `check`."""


def build(found: Iterable[workloads.Workload], scope: settings.Scope, built_at: str) -> Document:
    """Index `found` (an iterator: page after page, never the whole cluster at once).

    Entries are kept as the JSON dicts they are stored as: at 100k workloads a second copy as
    `Entry` values (plus the `to_json` copy for encoding) would double the peak memory."""
    by_image: dict[str, dict[tuple[str, str, str], list[str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    parsed: dict[str, tuple[str, ...]] = {}  # image text -> keys: images repeat across workloads
    for workload in found:
        ref = workload.ref
        holder = (ref.kind.value, ref.namespace, ref.name)
        seen.add(holder)
        for container in workload.containers:
            keys = parsed.get(container.image)
            if keys is None:
                keys = parsed[container.image] = _keys(container.image)
            for key in keys:
                by_image.setdefault(key, {}).setdefault(holder, []).append(container.name)
    raw: dict[str, list[Mapping[str, Any]]] = {
        image: [
            {"kind": kind, "namespace": namespace, "name": name, "containers": names}
            for (kind, namespace, name), names in sorted(holders.items(), key=_holder_order)
        ]
        for image, holders in sorted(by_image.items())
    }
    return Document(
        built_at=built_at, scope=scope.as_document(), images=LazyImages(raw), workloads=len(seen)
    )


def _holder_order(item: tuple[tuple[str, str, str], list[str]]) -> tuple[str, str, str]:
    (kind, namespace, name), _names = item
    return (namespace, name, kind)  # the order WorkloadRef sorts in


def _keys(image: str) -> tuple[str, ...]:
    """The cache keys of one container image: its normalized reference and, for one pinned
    beside its tag (`repo:tag@sha256:…`, as --pin-digest writes), the tag too, so the next push
    of the tag finds it. An unparseable image (a cluster may hold one that never pulls) cannot
    be selected, but is still indexed under its own text."""
    normalized = images.try_parse(image)
    if normalized is None:
        return (image,)
    if normalized.tag_form:
        return (str(normalized), normalized.tag_form)
    return (str(normalized),)


def to_json(document: Document) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "builtAt": document.built_at,
        "scope": dict(document.scope),
        "workloads": document.workload_count,
        "images": raw_images(document),
    }


def raw_images(document: Document) -> Mapping[str, list[Mapping[str, Any]]]:
    """The `images` object as stored (no copy when the document was built or decoded here)."""
    if isinstance(document.images, LazyImages):
        return document.images.raw
    return {
        image: [
            {
                "kind": entry.ref.kind.value,
                "namespace": entry.ref.namespace,
                "name": entry.ref.name,
                "containers": list(entry.containers),
            }
            for entry in entries
        ]
        for image, entries in document.images.items()
    }


def encode(document: Document) -> Encoded:
    """One ConfigMap's payload for the whole document (see `shards.layout` for when it is split)."""
    return encode_payload(to_json(document))


def encode_payload(payload: Mapping[str, Any], limit: int = CONFIGMAP_LIMIT) -> Encoded:
    """Serialize; compress past the readability threshold, or when plain JSON would not fit
    `limit`. The caller checks `size_bytes` against its limit (and shards when it does not fit)."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    if len(raw) <= min(COMPRESS_THRESHOLD, limit):
        return Encoded({DATA_KEY: raw.decode()}, {}, len(raw), compressed=False)
    # mtime=0 makes the bytes depend only on the content, so identical caches compare equal.
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    return Encoded({}, {BINARY_KEY: packed}, len(packed), compressed=True)


def stored_size(stored: port.CacheObject) -> tuple[int, bool]:
    """Bytes the payload takes in the ConfigMap, and whether it is compressed."""
    if BINARY_KEY in stored.binary_data:
        return len(stored.binary_data[BINARY_KEY]), True
    return len(stored.data.get(DATA_KEY, "").encode()), False


def decode(stored: port.CacheObject) -> Document:
    """Parse an unsharded cache; any defect raises `Corrupt` with the reason (never crashes)."""
    return from_json(load_payload(stored))


def load_payload(stored: port.CacheObject) -> object:
    """The JSON value stored in one ConfigMap (the cache, an index or a shard)."""
    return parse(payload_text(stored))


def payload_text(stored: port.CacheObject) -> str:
    """The JSON text stored in one ConfigMap, decompressed."""
    try:
        if BINARY_KEY in stored.binary_data:
            return gzip.decompress(stored.binary_data[BINARY_KEY]).decode()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise Corrupt(f"the cache document does not parse ({type(exc).__name__})") from exc
    if DATA_KEY in stored.data:
        return stored.data[DATA_KEY]
    raise Corrupt(f"the ConfigMap has neither {DATA_KEY} nor {BINARY_KEY}")


def parse(text: str) -> object:
    # The cyclic garbage collector paused: a decoded JSON tree has no cycles, yet its ~20k new
    # dicts and lists at 10k workloads trigger dozens of collections that walk every object of
    # the process and free nothing (1–3 ms of a 10k `check`, docs/benchmarks.md §C).
    paused = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Corrupt(f"the cache document does not parse ({type(exc).__name__})") from exc
    finally:
        if paused:
            gc.enable()


def from_json(payload: object) -> Document:
    header = header_of(payload, SCHEMA_VERSION)
    assert isinstance(payload, dict)  # header_of refuses anything else
    return Document(
        built_at=header.built_at,
        scope=header.scope,
        images=LazyImages(validated_images(payload)),
        workloads=header.workloads,
    )


@dataclass(frozen=True)
class Header:
    built_at: str
    scope: Mapping[str, Any]
    workloads: int | None


def header_of(payload: object, *versions: int) -> Header:
    """The fields an unsharded document and a shard index share, validated."""
    if not isinstance(payload, dict):
        raise Corrupt("the cache document is not a JSON object")
    version = payload.get("schemaVersion")
    if version not in versions:
        known = " or ".join(map(str, versions))
        raise Corrupt(f"unknown schema version {version!r} (this myctl reads {known})")
    try:
        built_at = str(payload["builtAt"])
        scope = dict(payload["scope"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Corrupt(f"the cache document is malformed ({type(exc).__name__}: {exc})") from exc
    count = payload.get("workloads")
    return Header(
        built_at, scope, count if isinstance(count, int) and not isinstance(count, bool) else None
    )


def validated_images(payload: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """The `images` object, every entry's shape checked without building objects."""
    try:
        raw = payload["images"]
        if not isinstance(raw, dict):
            raise TypeError("images is not an object")
        for image, entries in raw.items():
            for item in entries:
                if not (
                    item["kind"] in _KINDS
                    and isinstance(item["namespace"], str)
                    and isinstance(item["name"], str)
                    and isinstance(item["containers"], list)
                ):
                    raise ValueError(f"bad workload entry under {image}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Corrupt(f"the cache document is malformed ({type(exc).__name__}: {exc})") from exc
    return raw


_KINDS = frozenset(kind.value for kind in workloads.Kind)
