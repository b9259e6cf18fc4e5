"""The in-memory cluster's ConfigMaps: the cache index and its shards, as the API server keeps them.

Optimistic concurrency on resourceVersion, the 1 MiB size limit, and hooks for tests: writes
by "another writer" before ours, and a log of which ConfigMaps were read, written and deleted.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from commands.kube import port
from commands.values import errors

# The API server's limit on data + binaryData of one ConfigMap (validation.MaxConfigMapSize...).
CONFIGMAP_LIMIT = 1024 * 1024


@dataclass
class _ConfigMap:
    data: dict[str, str]
    binary_data: dict[str, bytes]
    resource_version: int


@dataclass
class CacheCalls:
    reads: list[str] = field(default_factory=list)  # names, in order
    writes: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # names that existed and were deleted


class ConfigMaps:
    """Thread-safe; `versions` is shared with the cluster so resourceVersions never repeat."""

    def __init__(self, versions: itertools.count[int], lock: threading.RLock) -> None:
        self._versions = versions
        self._lock = lock
        self._maps: dict[tuple[str, str], _ConfigMap] = {}
        self._conflicts_pending = 0
        self.calls = CacheCalls()
        # Called (outside our lock) before each write, with the name: lets a test run a
        # concurrent writer or reader at exactly that point.
        self.before_write: Callable[[str], None] | None = None

    def conflict_on_next_writes(self, times: int) -> None:
        self._conflicts_pending = times

    def put(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        with self._lock:
            self._maps[(namespace, name)] = _ConfigMap(dict(data), {}, next(self._versions))

    def remove(self, namespace: str, name: str) -> None:
        """Delete behind the engine's back (a person with kubectl)."""
        with self._lock:
            del self._maps[(namespace, name)]

    def names(self, namespace: str) -> list[str]:
        with self._lock:
            return sorted(name for ns, name in self._maps if ns == namespace)

    def version(self, namespace: str, name: str) -> int | None:
        stored = self._maps.get((namespace, name))
        return stored.resource_version if stored else None

    def read(self, namespace: str, name: str) -> port.CacheObject | None:
        with self._lock:
            self.calls.reads.append(name)
            stored = self._maps.get((namespace, name))
            if stored is None:
                return None
            return port.CacheObject(
                str(stored.resource_version), dict(stored.data), dict(stored.binary_data)
            )

    def write(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        binary_data: Mapping[str, bytes],
        resource_version: str | None,
    ) -> str:
        if self.before_write is not None:
            self.before_write(name)
        with self._lock:
            self.calls.writes.append(name)
            key = (namespace, name)
            if self._conflicts_pending:
                self._conflicts_pending -= 1
                self._maps[key] = _ConfigMap({"cache.json": "{}"}, {}, next(self._versions))
            current = self._maps.get(key)
            if resource_version is None and current is not None:
                raise errors.CacheConflict(f"configmap {namespace}/{name} already exists")
            if resource_version is not None and (
                current is None or str(current.resource_version) != resource_version
            ):
                raise errors.CacheConflict(f"configmap {namespace}/{name} was modified")
            size = sum(len(v.encode()) for v in data.values()) + sum(
                len(v) for v in binary_data.values()
            )
            if size > CONFIGMAP_LIMIT:
                raise errors.ClusterError(f"configmap {namespace}/{name}: too long ({size} bytes)")
            stored = _ConfigMap(dict(data), dict(binary_data), next(self._versions))
            self._maps[key] = stored
            return str(stored.resource_version)

    def delete(self, namespace: str, name: str, resource_version: str | None) -> bool:
        with self._lock:
            current = self._maps.get((namespace, name))
            if current is None:
                return False
            if resource_version is not None and str(current.resource_version) != resource_version:
                raise errors.CacheConflict(f"configmap {namespace}/{name} was modified")
            del self._maps[(namespace, name)]
            self.calls.deletes.append(name)
            return True
