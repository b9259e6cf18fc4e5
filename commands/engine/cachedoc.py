"""The cache document: one JSON object in a ConfigMap, gzip-compressed in binaryData when large.

{"schemaVersion": 1, "builtAt": "2026-01-01T09:00:00Z",
 "scope": {"namespaces": [], "excludeNamespaces": [...], "selector": "", "kinds": [...]},
 "images": {"docker.io/library/nginx:1.27": [
     {"kind": "Deployment", "namespace": "web", "name": "front", "containers": ["nginx"]}]}}
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.kube import port
from commands.values import errors, images, settings, workloads

SCHEMA_VERSION = 1
DATA_KEY = "cache.json"
BINARY_KEY = "cache.json.gz"
# The API server rejects ConfigMaps whose data and binaryData together exceed 1 MiB
# (validation.MaxConfigMapSize... shared with Secrets: 1,048,576 bytes). Keys, the labels and the
# scope are tiny, so 4 KiB of headroom is ample.
CONFIGMAP_LIMIT = 1024 * 1024 - 4096
# Below this the document stays plain JSON so `kubectl get cm -o yaml` is readable by people;
# above it we compress, which typically shrinks image lists 10-20x.
COMPRESS_THRESHOLD = 256 * 1024


@dataclass(frozen=True)
class Entry:
    """One workload that runs an image, with the containers that run it."""

    kind: str
    namespace: str
    name: str
    containers: tuple[str, ...]

    @property
    def ref(self) -> workloads.WorkloadRef:
        return workloads.WorkloadRef(workloads.Kind(self.kind), self.namespace, self.name)


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


class _LazyImages(Mapping[str, tuple[Entry, ...]]):
    """The decoded `images` map, turning JSON entries into `Entry` values on first access.

    `select` looks up one or two images; building ~10k `Entry` objects for every read would
    cost more than the lookup (and the API round trip) together. Entries were validated by
    `from_json` already, so conversion cannot fail here."""

    def __init__(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> None:
        self._raw = raw
        self._converted: dict[str, tuple[Entry, ...]] = {}

    def __getitem__(self, image: str) -> tuple[Entry, ...]:
        entries = self._converted.get(image)
        if entries is None:
            entries = tuple(
                Entry(item["kind"], item["namespace"], item["name"], tuple(item["containers"]))
                for item in self._raw[image]
            )
            self._converted[image] = entries
        return entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, image: object) -> bool:
        return image in self._raw


@dataclass(frozen=True)
class Encoded:
    data: Mapping[str, str]
    binary_data: Mapping[str, bytes]
    size_bytes: int
    compressed: bool


class Corrupt(Exception):
    """The stored document cannot be used; the message is the reason shown by `check`."""


def build(found: Iterable[workloads.Workload], scope: settings.Scope, built_at: str) -> Document:
    by_image: dict[str, dict[workloads.WorkloadRef, list[str]]] = {}
    for workload in found:
        for container in workload.containers:
            ref = images.try_parse(container.image)
            # An unparseable image (a cluster may hold one that never pulls) cannot be selected.
            key = str(ref) if ref else container.image
            by_image.setdefault(key, {}).setdefault(workload.ref, []).append(container.name)
            if ref is not None and ref.tag_form:
                # Pinned beside its tag (`repo:tag@sha256:…`): the next push of the tag must
                # find it too, so it is indexed under the tag as well.
                by_image.setdefault(ref.tag_form, {}).setdefault(workload.ref, []).append(
                    container.name
                )
    return Document(
        built_at=built_at,
        scope=scope.as_document(),
        workloads=len({ref for holders in by_image.values() for ref in holders}),
        images={
            image: tuple(
                Entry(ref.kind.value, ref.namespace, ref.name, tuple(names))
                for ref, names in sorted(holders.items())
            )
            for image, holders in sorted(by_image.items())
        },
    )


def to_json(document: Document) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "builtAt": document.built_at,
        "scope": dict(document.scope),
        "workloads": document.workload_count,
        "images": {
            image: [
                {
                    "kind": entry.kind,
                    "namespace": entry.namespace,
                    "name": entry.name,
                    "containers": list(entry.containers),
                }
                for entry in entries
            ]
            for image, entries in document.images.items()
        },
    }


def encode(document: Document) -> Encoded:
    """Serialize; compress past the threshold; refuse (never truncate) past the ConfigMap limit."""
    raw = json.dumps(to_json(document), separators=(",", ":"), sort_keys=True).encode()
    if len(raw) <= COMPRESS_THRESHOLD:
        return Encoded({DATA_KEY: raw.decode()}, {}, len(raw), compressed=False)
    # mtime=0 makes the bytes depend only on the content, so identical caches compare equal.
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    if len(packed) > CONFIGMAP_LIMIT:
        raise errors.CacheTooLarge(
            f"the image cache is {len(raw) / 1048576:.1f} MiB as JSON and "
            f"{len(packed) / 1048576:.2f} MiB compressed, over the 1 MiB ConfigMap limit: "
            "narrow the scope with --namespace, --selector or scope.kinds"
        )
    return Encoded({}, {BINARY_KEY: packed}, len(packed), compressed=True)


def decode(stored: port.CacheObject) -> Document:
    """Parse what is stored; any defect raises `Corrupt` with the reason (never crashes)."""
    try:
        if BINARY_KEY in stored.binary_data:
            raw = gzip.decompress(stored.binary_data[BINARY_KEY]).decode()
        elif DATA_KEY in stored.data:
            raw = stored.data[DATA_KEY]
        else:
            raise Corrupt(f"the ConfigMap has neither {DATA_KEY} nor {BINARY_KEY}")
        payload = json.loads(raw)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Corrupt(f"the cache document does not parse ({type(exc).__name__})") from exc
    return from_json(payload)


def from_json(payload: object) -> Document:
    if not isinstance(payload, dict):
        raise Corrupt("the cache document is not a JSON object")
    version = payload.get("schemaVersion")
    if version != SCHEMA_VERSION:
        raise Corrupt(f"unknown schema version {version!r} (this myctl reads {SCHEMA_VERSION})")
    try:
        built_at = str(payload["builtAt"])
        scope = dict(payload["scope"])
        raw = payload["images"]
        if not isinstance(raw, dict):
            raise TypeError("images is not an object")
        # Validate every entry's shape without building objects (see _LazyImages).
        for image, entries in raw.items():
            for item in entries:
                if not (
                    item["kind"] in _KINDS
                    and isinstance(item["namespace"], str)
                    and isinstance(item["name"], str)
                    and isinstance(item["containers"], list)
                ):
                    raise ValueError(f"bad workload entry under {image}")
        count = payload.get("workloads")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Corrupt(f"the cache document is malformed ({type(exc).__name__}: {exc})") from exc
    return Document(
        built_at=built_at,
        scope=scope,
        images=_LazyImages(raw),
        workloads=count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


_KINDS = frozenset(kind.value for kind in workloads.Kind)


def diff(old: Document | None, new: Document) -> tuple[list[str], list[str], list[str]]:
    """Images added, removed, and with a changed set of workloads, each sorted."""
    before = old.images if old else {}
    added = sorted(set(new.images) - set(before))
    removed = sorted(set(before) - set(new.images))
    changed = sorted(
        image
        for image in set(new.images) & set(before)
        if set(new.images[image]) != set(before[image])
    )
    return added, removed, changed
