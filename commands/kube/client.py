"""The real cluster: `Cluster` implemented on the official Kubernetes client's `ApiClient`.

The only modules (with `kubeconfig`, `transport` and `lean`) that import `kubernetes`. Requests
go through `transport.Transport` (our own paths, raw JSON, one retry policy, one error
translation); no generated API class or model is used, so a CLI process never imports the
~720 model modules (see `lean`), and responses are parsed as plain JSON: the client's model
deserialization costs milliseconds per object, which is seconds for a 10k-workload scan.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from commands.kube import convert, kubeconfig, port, transport, watchevents
from commands.values import clock as clock_mod
from commands.values import errors, workloads

Json = dict[str, Any]
Action = transport.Action
translate = transport.translate
configure = transport.configure
REQUEST_TIMEOUT = transport.REQUEST_TIMEOUT
# Seconds one watch asks the server for, at most: a healthy watch ends by then (cleanly, and is
# renewed from a fresh read), so one silent for this plus the read timeout is a dead connection
# (a proxy or a server gone silent), given up and resumed. Not the wait's whole remaining time:
# a dead watch would then hold the wait until its deadline (10 minutes by default). A minute
# costs a read and a watch a minute per workload followed.
WATCH_SPAN_SECONDS = 60.0
MANAGED_BY = {"app.kubernetes.io/managed-by": "myctl"}
_APPS = "/apis/apps/v1"
_CORE = "/api/v1"


def connect(
    kubeconfig_path: str | None,
    context: str | None,
    *,
    concurrency: int = 8,
    clock: clock_mod.Clock | None = None,
    environ: Mapping[str, str] | None = None,
    request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
) -> KubeCluster:
    """A `KubeCluster` for `--kubeconfig`/`--context` (see `kubeconfig.load` for the order);
    `request_timeout` is (connect, read) seconds, the `kube` configuration keys.

    Raises `ClusterUnreachable` (exit 2) when no usable configuration is found.
    """
    configuration = kubeconfig.load(kubeconfig_path, context, environ=environ, direct=True)
    return KubeCluster(
        configure(configuration, concurrency), clock=clock, request_timeout=request_timeout
    )


class KubeCluster:
    """`port.Cluster` on one thread-safe ApiClient (engine threads share its connection pool)."""

    def __init__(
        self,
        api_client: Any,
        *,
        clock: clock_mod.Clock | None = None,
        attempts: int = transport.ATTEMPTS,
        base_delay: float = transport.BASE_DELAY,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
        watch_span_seconds: float = WATCH_SPAN_SECONDS,
    ) -> None:
        self._watch_span = watch_span_seconds
        self._http = transport.Transport(
            api_client,
            clock=clock,
            attempts=attempts,
            base_delay=base_delay,
            request_timeout=request_timeout,
        )
        self._api = api_client

    @property
    def requests(self) -> int:
        """HTTP requests sent, retries included (tests and benchmarks read it)."""
        return self._http.requests

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> KubeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ workloads
    def list_workloads(
        self,
        kind: workloads.Kind,
        namespace: str | None,
        selector: str,
        page_size: int = port.DEFAULT_PAGE_SIZE,
    ) -> Iterator[workloads.Workload]:
        action = Action("list", _resource(kind), namespace, f"{kind.plural}")
        where = f"/namespaces/{transport.quote(namespace)}" if namespace is not None else ""
        resource_path = f"{_APPS}{where}/{kind.plural}"
        seen: set[tuple[str, str]] = set()
        token: str | None = None
        restarted = False
        while True:
            query = {"labelSelector": selector or None, "limit": page_size, "continue": token}
            try:
                page = self._http.call(action, "GET", resource_path, query, selector=selector)
            except transport.ListExpired as exc:
                # The continue token outlived etcd compaction (about 5 minutes, e.g. a slow
                # consumer of a huge scan). A consistent list must start over; once is enough
                # for any sane page size, and objects already yielded are skipped so callers
                # never see one twice. A second expiry means something else is wrong.
                if token is None or restarted:
                    raise errors.ServerError(
                        f"listing {kind.plural} failed: the list expired (410 Gone) twice; "
                        "retry, or list a narrower scope"
                    ) from exc
                restarted, token = True, None
                continue
            for item in page.get("items") or []:
                meta = item.get("metadata") or {}
                key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
                if key in seen:
                    continue
                seen.add(key)
                yield convert.to_workload(kind, item)
            token = (page.get("metadata") or {}).get("continue") or None
            if token is None:
                return

    def read_workload(self, ref: workloads.WorkloadRef) -> workloads.Workload:
        action = Action("get", _resource(ref.kind), ref.namespace, _subject(ref))
        return convert.to_workload(ref.kind, self._http.call(action, "GET", _path(ref)))

    def patch_restart(
        self,
        ref: workloads.WorkloadRef,
        restarted_at: str,
        *,
        dry_run: bool,
        pins: Sequence[workloads.Container] = (),
    ) -> workloads.Workload:
        template: Json = {"metadata": {"annotations": {port.RESTARTED_AT: restarted_at}}}
        pod_spec: Json = {}
        for pin in pins:
            # Strategic merge patches merge container lists by name: only `image` changes.
            key = "initContainers" if pin.init else "containers"
            pod_spec.setdefault(key, []).append({"name": pin.name, "image": pin.image})
        if pod_spec:
            template["spec"] = pod_spec
        # Sent as a strategic merge patch, as `kubectl patch` does, so container lists merge
        # by name.
        body = {"spec": {"template": template}}
        action = Action("patch", _resource(ref.kind), ref.namespace, _subject(ref))
        query = {"fieldManager": port.FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        obj = self._http.call(
            action, "PATCH", _path(ref), query, body, content_type=transport.STRATEGIC_MERGE
        )
        return convert.to_workload(ref.kind, obj)

    def watch_workload(
        self, ref: workloads.WorkloadRef, resource_version: str, timeout_seconds: float
    ) -> Iterator[workloads.Workload]:
        action = Action("watch", _resource(ref.kind), ref.namespace, _subject(ref))
        seconds = max(int(min(timeout_seconds, self._watch_span)), 1)
        query: transport.Query = {
            "fieldSelector": f"metadata.name={ref.name}",
            "watch": True,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": True,
            "timeoutSeconds": seconds,
        }
        resource_path = f"{_APPS}/namespaces/{transport.quote(ref.namespace)}/{ref.kind.plural}"
        try:
            response = self._http.stream(
                action,
                resource_path,
                query,
                # The server ends the watch after `seconds`; the read timeout only guards
                # against a connection that went silent (see WATCH_SPAN_SECONDS).
                timeout=(self._http.timeout[0], seconds + self._http.timeout[1]),
            )
        except transport.ListExpired as exc:
            # 410 as the answer's status rather than as an ERROR event in the stream (some
            # servers and proxies): the same expired version, resumed the same way.
            raise errors.WatchExpired(f"watch of {action.subject} expired ({exc})") from exc
        try:
            yield from watchevents.workloads_of(transport.json_lines(response), ref.kind, action)
        except transport.connection_errors() as exc:
            # A watch that breaks is resumed by the caller from a fresh read.
            raise errors.WatchExpired(f"watch of {action.subject} broke ({exc})") from exc
        finally:
            response.release_conn()

    def list_pods(self, namespace: str, selector: str) -> tuple[workloads.Pod, ...]:
        action = Action("list", "pods", namespace, f"pods in {namespace}")
        resource_path = f"{_CORE}/namespaces/{transport.quote(namespace)}/pods"
        page = self._http.call(
            action, "GET", resource_path, {"labelSelector": selector or None}, selector=selector
        )
        return tuple(convert.to_pod(item) for item in page.get("items") or [])

    # ------------------------------------------------------------------ cache
    def read_cache(self, namespace: str, name: str) -> port.CacheObject | None:
        action = Action("get", "configmaps", namespace, f"ConfigMap {namespace}/{name}")
        try:
            obj = self._http.call(action, "GET", _configmap(namespace, name))
        except errors.NotFound:
            return None
        try:
            binary = {
                k: base64.b64decode(v, validate=True)
                for k, v in (obj.get("binaryData") or {}).items()
            }
        except ValueError as exc:  # binascii.Error; the API server validates, so: a proxy bug
            raise errors.ClusterError(f"{action.subject} has invalid base64 in binaryData") from exc
        return port.CacheObject(
            resource_version=str((obj.get("metadata") or {}).get("resourceVersion", "")),
            data=dict(obj.get("data") or {}),
            binary_data=binary,
        )

    def write_cache(
        self,
        namespace: str,
        name: str,
        *,
        data: Mapping[str, str],
        binary_data: Mapping[str, bytes],
        resource_version: str | None,
    ) -> str:
        metadata: Json = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}
        body: Json = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": dict(data),
            "binaryData": {k: base64.b64encode(v).decode("ascii") for k, v in binary_data.items()},
        }
        subject = f"ConfigMap {namespace}/{name}"
        query = {"fieldManager": port.FIELD_MANAGER}
        if resource_version is None:
            action = Action(
                "create",
                "configmaps",
                namespace,
                subject,
                cache=True,
                missing=f'namespace "{namespace}" not found (cannot create {subject})',
            )
            obj = self._http.call(action, "POST", _configmap(namespace), query, body)
        else:
            # Replace, not patch: the precondition on resourceVersion is what makes concurrent
            # rebuilds safe (the loser gets 409 and re-reads).
            metadata["resourceVersion"] = resource_version
            action = Action("update", "configmaps", namespace, subject, cache=True)
            obj = self._http.call(action, "PUT", _configmap(namespace, name), query, body)
        return str((obj.get("metadata") or {}).get("resourceVersion", ""))

    def delete_cache(
        self, namespace: str, name: str, *, resource_version: str | None = None
    ) -> bool:
        action = Action(
            "delete", "configmaps", namespace, f"ConfigMap {namespace}/{name}", cache=True
        )
        body: Json = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version is not None:
            body["preconditions"] = {"resourceVersion": resource_version}
        try:
            self._http.call(action, "DELETE", _configmap(namespace, name), None, body)
        except errors.NotFound:
            return False
        return True

    def server_version(self) -> str:
        action = Action("get", "version", None, "the server version")
        return str(self._http.call(action, "GET", "/version/").get("gitVersion", ""))


def _resource(kind: workloads.Kind) -> str:
    return f"{kind.plural}.apps"


def _subject(ref: workloads.WorkloadRef) -> str:
    return f"{ref.kind.lower} {ref.namespace}/{ref.name}"


def _path(ref: workloads.WorkloadRef) -> str:
    namespace, name = transport.quote(ref.namespace), transport.quote(ref.name)
    return f"{_APPS}/namespaces/{namespace}/{ref.kind.plural}/{name}"


def _configmap(namespace: str, name: str | None = None) -> str:
    base = f"{_CORE}/namespaces/{transport.quote(namespace)}/configmaps"
    return f"{base}/{transport.quote(name)}" if name is not None else base
