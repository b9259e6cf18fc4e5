"""An in-memory cluster implementing `port.Cluster`: the public fake for fast engine tests.

Like httpx's MockTransport, it is part of the package: it behaves as the API server does for
the calls myctl makes (resourceVersions, optimistic concurrency, pagination, server-side dry
run, RBAC refusals), and lets tests inject faults. Thread-safe: the engine patches concurrently.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from commands.kube import memory_cache, memory_faults, memory_images, memory_rollouts, port
from commands.values import clock as clock_mod
from commands.values import errors, workloads

Kind = workloads.Kind


class MemoryCluster:
    def __init__(self, clock: clock_mod.Clock | None = None) -> None:
        # A watch with nothing to report waits on this clock, so a FakeClock makes a stuck
        # rollout time out at once.
        self.clock: clock_mod.Clock = clock or clock_mod.SystemClock()
        self.images = memory_images.ImageWorld()
        self._pod_serial = itertools.count(1)
        self._lock = threading.RLock()
        self._objects: dict[workloads.WorkloadRef, memory_rollouts.Stored] = {}
        self._versions = itertools.count(1000)
        # ConfigMaps (the cache index and shards) live in their own module: memory_cache.
        self.configmaps = memory_cache.ConfigMaps(self._versions, self._lock)
        self._forbidden: set[tuple[str, str, str | None]] = set()
        self.unreachable = False
        self.calls = memory_rollouts.Calls()
        self.watch_faults = memory_faults.WatchFaults()
        self.version = "v1.35.4-memory"
        # Seconds each patch takes, like a real round trip; lets tests observe concurrency.
        self.patch_latency = 0.0
        # Patches that land but whose answer is lost, as when a connection breaks mid-response.
        self.lost_patch_answers = memory_faults.Countdown()
        self._in_flight = 0

    # --- test set-up ------------------------------------------------------------------------
    def add(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        *images: str,
        pull_policy: str | None = None,
        paused: bool = False,
        labels: Mapping[str, str] | None = None,
        rollout: str = "complete",
        replicas: int = 2,
    ) -> workloads.WorkloadRef:
        workload = memory_rollouts.new_workload(
            workloads.WorkloadRef(kind, namespace, name),
            images or ("nginx:1.27",),
            pull_policy=pull_policy,
            paused=paused,
            labels=labels or {},
            replicas=replicas,
        )
        ref = workload.ref
        with self._lock:
            stored = memory_rollouts.Stored(workload, next(self._versions), rollout)
            stored.pods = [self._start_pod(workload, None) for _ in range(replicas)]
            self._objects[ref] = stored
        return ref

    def pods(self, ref: workloads.WorkloadRef) -> list[workloads.Pod]:
        with self._lock:
            return list(self._objects[ref].pods)

    def set_image(self, ref: workloads.WorkloadRef, image: str) -> None:
        """Someone else changes the workload's image (kubectl set image, a GitOps sync)."""
        with self._lock:
            stored = self._objects[ref]
            containers = tuple(
                dataclasses.replace(c, image=image) for c in stored.workload.containers
            )
            stored.workload = dataclasses.replace(stored.workload, containers=containers)

    def delete(self, ref: workloads.WorkloadRef) -> None:
        with self._lock:
            del self._objects[ref]

    def forbid(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """RBAC says no to `verb` on `resource` (e.g. "patch", "deployments.apps") in `namespace`
        (None: everywhere)."""
        self._forbidden.add((verb, resource, namespace))

    def expire_next_watches(self, times: int = 1, then: Callable[[], None] | None = None) -> None:
        """The next `times` watches fail as an expired (410) or broken watch does."""
        self.watch_faults.arm(times, then)

    def finish_rollout(self, ref: workloads.WorkloadRef) -> None:
        """The fake controller completes a "stuck" rollout now: new pods, all available."""
        with self._lock:
            stored = self._objects[ref]
            stored.workload, stored.rollout = memory_rollouts.finished(stored.workload), "complete"
            stored.resource_version = next(self._versions)
            started = stored.workload.restarted_at
            count = stored.workload.rollout.desired or 0
            stored.pods = [self._start_pod(stored.workload, started) for _ in range(count)]

    def conflict_on_next_writes(self, times: int = 1) -> None:
        """Another writer replaces the cache just before each of our next `times` writes."""
        self.configmaps.conflict_on_next_writes(times)

    def put_cache(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.configmaps.put(namespace, name, data)

    def cache_version(self, namespace: str, name: str) -> int | None:
        return self.configmaps.version(namespace, name)

    def workload(self, ref: workloads.WorkloadRef) -> workloads.Workload:
        with self._lock:
            return self._objects[ref].workload

    def resource_version(self, ref: workloads.WorkloadRef) -> int:
        with self._lock:
            return self._objects[ref].resource_version

    # --- the port -----------------------------------------------------------------------------
    def list_workloads(
        self,
        kind: Kind,
        namespace: str | None,
        selector: str,
        page_size: int = port.DEFAULT_PAGE_SIZE,
    ) -> Iterator[workloads.Workload]:
        self._check("list", kind, namespace)
        wanted = memory_rollouts.parse_selector(selector)
        with self._lock:
            matching = sorted(
                (
                    stored.workload
                    for ref, stored in self._objects.items()
                    if ref.kind is kind
                    and (namespace is None or ref.namespace == namespace)
                    and wanted <= set(stored.workload.labels)
                ),
                key=lambda w: w.ref,
            )
        token: str | None = None
        for start in range(0, max(len(matching), 1), page_size):
            self.calls.lists.append((kind.value, namespace, token))
            yield from matching[start : start + page_size]
            token = f"continue-{start + page_size}"

    def read_workload(self, ref: workloads.WorkloadRef) -> workloads.Workload:
        self._check("get", ref.kind, ref.namespace)
        with self._lock:
            stored = self._objects.get(ref)
            if stored is None:
                raise errors.NotFound(f"{ref} not found")
            return dataclasses.replace(
                stored.workload, resource_version=str(stored.resource_version)
            )

    def watch_workload(
        self, ref: workloads.WorkloadRef, resource_version: str, timeout_seconds: float
    ) -> Iterator[workloads.Workload]:
        self._check("watch", ref.kind, ref.namespace)
        with self._lock:
            self.calls.watches += 1
        self.watch_faults.check(str(ref))
        current = self.read_workload(ref)
        if current.resource_version != resource_version:
            yield current
            return
        # The fake controller acts inside patch_restart, so nothing changes later: wait out
        # the watch as the API server would, then end it.
        self.clock.sleep(timeout_seconds)

    def list_pods(self, namespace: str, selector: str) -> tuple[workloads.Pod, ...]:
        self._check_resource("list", "pods", namespace)
        with self._lock:
            self.calls.pod_lists += 1
            return tuple(
                pod
                for ref, stored in sorted(self._objects.items())
                if ref.namespace == namespace and stored.workload.selector == selector
                for pod in stored.pods
            )

    def patch_restart(
        self,
        ref: workloads.WorkloadRef,
        restarted_at: str,
        *,
        dry_run: bool,
        pins: Sequence[workloads.Container] = (),
    ) -> workloads.Workload:
        self._check("patch", ref.kind, ref.namespace)
        with self._lock:
            self._in_flight += 1
            self.calls.peak_concurrent_patches = max(
                self.calls.peak_concurrent_patches, self._in_flight
            )
        try:
            if self.patch_latency:
                time.sleep(self.patch_latency)  # outside the lock, as a network round trip is
            patched = self._patch(ref, restarted_at, dry_run, pins)
            if self.lost_patch_answers.take():
                raise errors.ServerError(f"patch {ref}: the connection broke mid-response")
            return patched
        finally:
            with self._lock:
                self._in_flight -= 1

    def _patch(
        self,
        ref: workloads.WorkloadRef,
        restarted_at: str,
        dry_run: bool,
        pins: Sequence[workloads.Container],
    ) -> workloads.Workload:
        with self._lock:
            self.calls.patches.append((ref, dry_run))
            stored = self._objects.get(ref)
            if stored is None:
                raise errors.NotFound(f"{ref} not found")
            pinned = {pin.name: pin.image for pin in pins}
            containers = tuple(
                dataclasses.replace(c, image=pinned.get(c.name, c.image))
                for c in stored.workload.containers
            )
            current = stored.workload
            if (current.restarted_at, current.containers) == (restarted_at, containers):
                # The template is unchanged, so the API server starts no new rollout.
                return dataclasses.replace(current, resource_version=str(stored.resource_version))
            patched = memory_rollouts.restarted(stored, restarted_at)
            patched = dataclasses.replace(patched, containers=containers)
            if not dry_run:
                stored.workload = patched
                stored.resource_version = next(self._versions)
                if stored.rollout == "complete":  # the new ReplicaSet's pods replace the old
                    count = patched.rollout.desired or 0
                    stored.pods = [self._start_pod(patched, restarted_at) for _ in range(count)]
            return dataclasses.replace(patched, resource_version=str(stored.resource_version))

    def read_cache(self, namespace: str, name: str) -> port.CacheObject | None:
        self._check_resource("get", "configmaps", namespace)
        return self.configmaps.read(namespace, name)

    def write_cache(
        self,
        namespace: str,
        name: str,
        *,
        data: Mapping[str, str],
        binary_data: Mapping[str, bytes],
        resource_version: str | None,
    ) -> str:
        verb = "create" if resource_version is None else "update"
        self._check_resource(verb, "configmaps", namespace)
        with self._lock:
            self.calls.cache_writes += 1
        return self.configmaps.write(namespace, name, data, binary_data, resource_version)

    def delete_cache(
        self, namespace: str, name: str, *, resource_version: str | None = None
    ) -> bool:
        self._check_resource("delete", "configmaps", namespace)
        return self.configmaps.delete(namespace, name, resource_version)

    def server_version(self) -> str:
        self._check_resource("get", "version", None)
        return self.version

    # --- internals ----------------------------------------------------------------------------
    def _start_pod(self, workload: workloads.Workload, restarted_at: str | None) -> workloads.Pod:
        name = f"{workload.ref.name}-{next(self._pod_serial)}"
        return self.images.start_pod(name, workload, restarted_at)

    def _check(self, verb: str, kind: Kind, namespace: str | None) -> None:
        self._check_resource(verb, f"{kind.plural}.apps", namespace)

    def _check_resource(self, verb: str, resource: str, namespace: str | None) -> None:
        if self.unreachable:
            raise errors.ClusterUnreachable(
                "cannot reach the Kubernetes API (memory cluster is down)"
            )
        for forbidden_verb, forbidden_resource, forbidden_ns in self._forbidden:
            if (forbidden_verb, forbidden_resource) == (verb, resource) and forbidden_ns in (
                None,
                namespace,
            ):
                raise errors.PermissionDenied(verb, resource, namespace)
