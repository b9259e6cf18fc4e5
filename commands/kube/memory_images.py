"""Registries, nodes and pods for the in-memory cluster: where the cached-tag pitfall lives.

A restart only rolls out a new image if the new pods' nodes pull one. This models what a
kubelet does when it starts a container (per `imagePullPolicy`, against a per-node cache and a
registry whose tags tests can move), so engine tests meet the same pitfall as real clusters.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Sequence

from commands.values import images, workloads

NODES = ("node-a", "node-b")


def synthetic_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class ImageWorld:
    """The registry's tags and each node's image cache. Thread-safe."""

    def __init__(self, nodes: Sequence[str] = NODES) -> None:
        self._lock = threading.Lock()
        self.nodes = tuple(nodes)
        self._remote: dict[str, str] = {}
        self._caches: dict[str, dict[str, str]] = {node: {} for node in self.nodes}
        self._pushes = itertools.count(1)
        self._next_node = itertools.cycle(self.nodes)

    def push(self, image: str, digest: str | None = None) -> str:
        """Move `image`'s tag to `digest` (a new synthetic one by default), as a push does."""
        key = _key(image)
        new = digest or synthetic_digest(f"{key}#{next(self._pushes)}")
        with self._lock:
            self._remote[key] = new
        return new

    def remote_digest(self, image: str) -> str:
        key = _key(image)
        with self._lock:
            return self._remote.setdefault(key, synthetic_digest(key))

    def seed(self, node: str, image: str, digest: str) -> None:
        """`node` has `digest` cached for `image` (it pulled the tag before it moved)."""
        with self._lock:
            self._caches[node][_key(image)] = digest

    def cached(self, node: str, image: str) -> str | None:
        with self._lock:
            return self._caches[node].get(_key(image))

    def pull(self, node: str, image: str, policy: str) -> str | None:
        """The digest a container of `image` runs when started on `node`, as a kubelet pulls."""
        ref = images.try_parse(image)
        if ref is None:
            return None
        if ref.digest:
            return ref.digest
        key = str(ref)
        with self._lock:
            cached = self._caches[node].get(key)
        if policy == "Never" or (policy == "IfNotPresent" and cached):
            return cached
        digest = self.remote_digest(image)
        with self._lock:
            self._caches[node][key] = digest
        return digest

    def next_node(self) -> str:
        with self._lock:
            return next(self._next_node)

    def start_pod(
        self, name: str, workload: workloads.Workload, restarted_at: str | None
    ) -> workloads.Pod:
        node = self.next_node()
        return workloads.Pod(
            name=name,
            node=node,
            restarted_at=restarted_at,
            containers=tuple(
                workloads.PodContainer(c.name, c.image, self.pull(node, c.image, c.pull_policy))
                for c in workload.containers
            ),
        )


def _key(image: str) -> str:
    ref = images.try_parse(image)
    return str(ref) if ref else image
