"""The port between the engine and a cluster: what myctl needs from Kubernetes, and no more."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from commands.values import workloads

# Annotation kubectl writes for `rollout restart`; writing the same one makes our restarts show
# up in `kubectl rollout history` exactly like kubectl's.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
FIELD_MANAGER = "myctl"
# Objects per list page: large enough that 10k workloads are ~20 requests, small enough to keep
# each response (and our memory) bounded, as kubectl's default chunk size of 500 does.
DEFAULT_PAGE_SIZE = 500


@dataclass(frozen=True)
class CacheObject:
    """The cache ConfigMap's payload and the resourceVersion it was read at."""

    resource_version: str
    data: Mapping[str, str] = field(default_factory=dict)
    binary_data: Mapping[str, bytes] = field(default_factory=dict)


class Cluster(Protocol):
    """Implemented by `client.KubeCluster` (a real API server) and `memory.MemoryCluster`.

    Every method raises only errors from `commands.values.errors`.
    """

    def list_workloads(
        self,
        kind: workloads.Kind,
        namespace: str | None,
        selector: str,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[workloads.Workload]:
        """Every workload of `kind` (in `namespace`, or all namespaces when None), paginated
        with limit/continue so memory stays bounded by one page."""
        ...

    def read_workload(self, ref: workloads.WorkloadRef) -> workloads.Workload:
        """The live object; `NotFound` if it does not exist."""
        ...

    def patch_restart(
        self,
        ref: workloads.WorkloadRef,
        restarted_at: str,
        *,
        dry_run: bool,
        pins: Sequence[workloads.Container] = (),
    ) -> workloads.Workload:
        """Set the restartedAt pod-template annotation (field manager `myctl`), and with `pins`
        set those containers' images (matched by name, in containers or initContainers) in the
        same patch.

        With `dry_run` the API server runs admission and authorization (`dryRun=All`) and
        persists nothing."""
        ...

    def watch_workload(
        self, ref: workloads.WorkloadRef, resource_version: str, timeout_seconds: float
    ) -> Iterator[workloads.Workload]:
        """The workload each time it changes after `resource_version`, for at most
        `timeout_seconds` (then the iterator ends). One long request, not polling.

        Raises `WatchExpired` when `resource_version` is too old (HTTP 410): re-read, re-watch."""
        ...

    def list_pods(self, namespace: str, selector: str) -> tuple[workloads.Pod, ...]:
        """The pods in `namespace` that match the label `selector` (one list request)."""
        ...

    def read_cache(self, namespace: str, name: str) -> CacheObject | None:
        """The cache ConfigMap, or None when it does not exist."""
        ...

    def write_cache(
        self,
        namespace: str,
        name: str,
        *,
        data: Mapping[str, str],
        binary_data: Mapping[str, bytes],
        resource_version: str | None,
    ) -> str:
        """Create (resource_version None) or replace at `resource_version`; returns the new one.

        Raises `CacheConflict` when someone else wrote in between (HTTP 409)."""
        ...

    def delete_cache(
        self, namespace: str, name: str, *, resource_version: str | None = None
    ) -> bool:
        """Delete a cache ConfigMap (a stale shard); False when it did not exist. With
        `resource_version`, only that version (else `CacheConflict`)."""
        ...

    def server_version(self) -> str:
        """`v1.35.4`: proves the API answers (used by readiness checks)."""
        ...
