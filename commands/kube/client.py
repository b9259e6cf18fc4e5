"""The real cluster: `Cluster` implemented on the official Kubernetes client.

The only module (with `kubeconfig`) that imports `kubernetes`. Every `ApiException` and urllib3
error is turned into `commands.values.errors` here, once, in `translate`; retries of
temporary failures happen here too, in `_call`, so no other layer retries HTTP.

Responses are read with `_preload_content=False` and parsed as plain JSON: the client's model
deserialization costs milliseconds per object, which is seconds for a 10k-workload scan.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import urllib3.exceptions
from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exceptions

from commands.kube import convert, kubeconfig, port
from commands.values import clock as clock_mod
from commands.values import errors, workloads

Json = dict[str, Any]

# (connect, read) seconds. Connect: a loopback or in-cluster API answers in milliseconds, 5 s
# covers a slow VPN. Read: a 500-object list page takes well under a second on a healthy API
# server; 30 s leaves room for a loaded one while making sure nothing waits forever.
REQUEST_TIMEOUT = (5.0, 30.0)
# Attempts for 429/5xx/read timeouts, sleeping 0.2 s then 0.4 s in between: rides out an API
# server restart or a leader change, and still fails within about a second plus timeouts.
ATTEMPTS = 3
BASE_DELAY = 0.2
# A server's Retry-After (429) is honoured, but capped so one command cannot stall for minutes.
MAX_RETRY_AFTER = 5.0
MANAGED_BY = {"app.kubernetes.io/managed-by": "myctl"}
# How AppsV1Api spells each kind in its method names (list_namespaced_stateful_set, ...).
_SNAKE = {
    workloads.Kind.DEPLOYMENT: "deployment",
    workloads.Kind.STATEFULSET: "stateful_set",
    workloads.Kind.DAEMONSET: "daemon_set",
}


def connect(
    kubeconfig_path: str | None,
    context: str | None,
    *,
    concurrency: int = 8,
    clock: clock_mod.Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> KubeCluster:
    """A `KubeCluster` for `--kubeconfig`/`--context` (see `kubeconfig.load` for the order).

    Raises `ClusterUnreachable` (exit 2) when no usable configuration is found.
    """
    configuration = kubeconfig.load(kubeconfig_path, context, environ=environ)
    return KubeCluster(configure(configuration, concurrency), clock=clock)


def configure(configuration: Any, concurrency: int) -> Any:
    """An ApiClient whose urllib3 layer never retries (our `_call` is the only retry policy)
    and whose pool holds a connection per engine thread (urllib3 would otherwise discard and
    reopen connections beyond its default pool size under a concurrent restart)."""
    configuration.retries = 0
    configuration.client_go_retries = False
    configuration.connection_pool_maxsize = max(concurrency, 1) + 2  # +2: list/cache calls
    return k8s_client.ApiClient(configuration)


@dataclass(frozen=True)
class Action:
    """What we attempted, in the words an error message needs."""

    verb: str  # RBAC verb: get, list, patch, create, update
    resource: str  # RBAC resource: deployments.apps, configmaps
    namespace: str | None
    subject: str  # "deployment shop/api", 'ConfigMap myctl/myctl-image-cache'
    cache: bool = False  # 409 (and 404 on replace) mean someone else wrote the cache
    missing: str = ""  # the NotFound message; default "<subject> not found"


class _ListExpired(errors.TemporaryError):
    """410 Gone: a continue token outlived etcd compaction. Only `list_workloads` sees it."""


class KubeCluster:
    """`port.Cluster` on one thread-safe ApiClient (engine threads share its urllib3 pool)."""

    def __init__(
        self,
        api_client: Any,
        *,
        clock: clock_mod.Clock | None = None,
        attempts: int = ATTEMPTS,
        base_delay: float = BASE_DELAY,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> None:
        self._api = api_client
        self._clock: clock_mod.Clock = clock or clock_mod.SystemClock()
        self._attempts = max(attempts, 1)
        self._base_delay = base_delay
        self._timeout = request_timeout
        self._host = str(api_client.configuration.host)
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, retries included (tests and benchmarks read it)

    # The generated API classes cost 0.1-0.2 s each to instantiate (their validators are built
    # then), so each is made on first use: `restart` never pays for CoreV1Api, `check` never
    # for AppsV1Api. Typed Any: the client's methods are typed with its models, but we send
    # and read plain JSON dicts (pydantic validates a dict body into the model).
    @functools.cached_property
    def _apps(self) -> Any:
        return k8s_client.AppsV1Api(self._api)

    @functools.cached_property
    def _core(self) -> Any:
        return k8s_client.CoreV1Api(self._api)

    @functools.cached_property
    def _version(self) -> Any:
        return k8s_client.VersionApi(self._api)

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
        if namespace is None:
            method = getattr(self._apps, f"list_{_SNAKE[kind]}_for_all_namespaces")
            args: tuple[str, ...] = ()
        else:
            method = getattr(self._apps, f"list_namespaced_{_SNAKE[kind]}")
            args = (namespace,)
        seen: set[tuple[str, str]] = set()
        token: str | None = None
        restarted = False
        while True:
            try:
                page = self._call(
                    action,
                    functools.partial(
                        method,
                        *args,
                        label_selector=selector or None,
                        limit=page_size,
                        _continue=token,
                    ),
                    selector=selector,
                )
            except _ListExpired as exc:
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
        method = getattr(self._apps, f"read_namespaced_{_SNAKE[ref.kind]}")
        action = Action("get", _resource(ref.kind), ref.namespace, _subject(ref))
        return convert.to_workload(
            ref.kind, self._call(action, functools.partial(method, ref.name, ref.namespace))
        )

    def patch_restart(
        self,
        ref: workloads.WorkloadRef,
        restarted_at: str,
        *,
        dry_run: bool,
        pins: Sequence[workloads.Container] = (),
    ) -> workloads.Workload:
        method = getattr(self._apps, f"patch_namespaced_{_SNAKE[ref.kind]}")
        template: Json = {"metadata": {"annotations": {port.RESTARTED_AT: restarted_at}}}
        pod_spec: Json = {}
        for pin in pins:
            # Strategic merge patches merge container lists by name: only `image` changes.
            key = "initContainers" if pin.init else "containers"
            pod_spec.setdefault(key, []).append({"name": pin.name, "image": pin.image})
        if pod_spec:
            template["spec"] = pod_spec
        # A dict body goes out as a strategic merge patch (the client's rest layer turns its
        # default json-patch content type into strategic-merge for non-list bodies), so
        # container lists merge by name as `kubectl patch` does.
        body = {"spec": {"template": template}}
        action = Action("patch", _resource(ref.kind), ref.namespace, _subject(ref))
        obj = self._call(
            action,
            functools.partial(
                method,
                ref.name,
                ref.namespace,
                body,
                field_manager=port.FIELD_MANAGER,
                dry_run="All" if dry_run else None,
            ),
        )
        return convert.to_workload(ref.kind, obj)

    def watch_workload(
        self, ref: workloads.WorkloadRef, resource_version: str, timeout_seconds: float
    ) -> Iterator[workloads.Workload]:
        method = getattr(self._apps, f"list_namespaced_{_SNAKE[ref.kind]}")
        action = Action("watch", _resource(ref.kind), ref.namespace, _subject(ref))
        seconds = max(int(timeout_seconds), 1)
        try:
            response = method(
                ref.namespace,
                field_selector=f"metadata.name={ref.name}",
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=seconds,
                # The server ends the watch after `seconds`; the read timeout only guards
                # against a connection that went silent (a bookmark arrives about every minute).
                _request_timeout=(self._timeout[0], seconds + self._timeout[1]),
                _preload_content=False,
            )
        except (k8s_exceptions.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, action, self._host) from exc
        with self._lock:
            self.requests += 1
        try:
            for event in _json_lines(response):
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    if int(obj.get("code", 0)) == 410:
                        raise errors.WatchExpired(f"watch of {action.subject} expired")
                    raise errors.ServerError(f"watch of {action.subject}: {obj.get('message')}")
                if kind in ("ADDED", "MODIFIED"):
                    yield convert.to_workload(ref.kind, obj)
                elif kind == "DELETED":
                    raise errors.NotFound(f"{action.subject} was deleted during the rollout")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # A watch that breaks is resumed by the caller from a fresh read.
            raise errors.WatchExpired(f"watch of {action.subject} broke ({exc})") from exc
        finally:
            response.release_conn()

    def list_pods(self, namespace: str, selector: str) -> tuple[workloads.Pod, ...]:
        action = Action("list", "pods", namespace, f"pods in {namespace}")
        page = self._call(
            action,
            functools.partial(
                self._core.list_namespaced_pod, namespace, label_selector=selector or None
            ),
            selector=selector,
        )
        return tuple(convert.to_pod(item) for item in page.get("items") or [])

    # ------------------------------------------------------------------ cache
    def read_cache(self, namespace: str, name: str) -> port.CacheObject | None:
        action = Action("get", "configmaps", namespace, f"ConfigMap {namespace}/{name}")
        try:
            obj = self._call(
                action, functools.partial(self._core.read_namespaced_config_map, name, namespace)
            )
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
        if resource_version is None:
            action = Action(
                "create",
                "configmaps",
                namespace,
                subject,
                cache=True,
                missing=f'namespace "{namespace}" not found (cannot create {subject})',
            )
            obj = self._call(
                action,
                functools.partial(
                    self._core.create_namespaced_config_map,
                    namespace,
                    body,
                    field_manager=port.FIELD_MANAGER,
                ),
            )
        else:
            # Replace, not patch: the precondition on resourceVersion is what makes concurrent
            # rebuilds safe (the loser gets 409 and re-reads).
            metadata["resourceVersion"] = resource_version
            action = Action("update", "configmaps", namespace, subject, cache=True)
            obj = self._call(
                action,
                functools.partial(
                    self._core.replace_namespaced_config_map,
                    name,
                    namespace,
                    body,
                    field_manager=port.FIELD_MANAGER,
                ),
            )
        return str((obj.get("metadata") or {}).get("resourceVersion", ""))

    def server_version(self) -> str:
        action = Action("get", "version", None, "the server version")
        return str(self._call(action, self._version.get_code).get("gitVersion", ""))

    # ------------------------------------------------------------------ transport
    def _call(self, action: Action, request: Callable[..., Any], *, selector: str = "") -> Json:
        """Send `request` with our timeout, retrying temporary failures, and parse the JSON."""
        delay = self._base_delay
        for attempt in range(1, self._attempts + 1):
            with self._lock:
                self.requests += 1
            try:
                response = request(_request_timeout=self._timeout, _preload_content=False)
                try:
                    raw = response.data
                finally:
                    response.release_conn()
                return cast(Json, json.loads(raw))
            except (
                k8s_exceptions.ApiException,
                urllib3.exceptions.HTTPError,
                OSError,
                json.JSONDecodeError,
            ) as exc:
                error = translate(exc, action, self._host, selector)
                if not isinstance(error, errors.ServerError):
                    raise error from exc
                if attempt == self._attempts:
                    raise errors.ServerError(f"{error} (gave up after {attempt} attempts)") from exc
                self._clock.sleep(max(delay, _retry_after(exc)))
                delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises


def translate(
    exc: BaseException, action: Action, host: str, selector: str = ""
) -> errors.MyctlError:
    """The one place a client-library exception becomes one of ours (see errors.py's tree)."""
    what = f"{action.verb} {action.subject}"
    if isinstance(exc, k8s_exceptions.ApiException):
        status = int(exc.status or 0)
        message = _server_message(exc)
        if status == 0:  # the client wraps TLS failures as status 0
            return errors.ClusterUnreachable(
                f"cannot reach the Kubernetes API at {host}: {message}"
            )
        if status == 401:
            return errors.ClusterUnreachable(
                f"unauthorized: the credentials in the kubeconfig were rejected by {host}"
            )
        if status == 403:
            return errors.PermissionDenied(action.verb, action.resource, action.namespace, message)
        if status == 404 and action.cache and action.verb == "update":
            return errors.CacheConflict(f"{action.subject} was deleted since it was read")
        if status == 404:
            return errors.NotFound(action.missing or f"{action.subject} not found")
        if status == 409 and action.cache:
            return errors.CacheConflict(f"{action.subject} changed since it was read ({message})")
        if status == 410:
            return _ListExpired(f"cannot {what}: {message}")
        if status == 400 and selector:
            return errors.UsageError(f"invalid label selector {selector!r}: {message}")
        if status == 429 or (status >= 500 and status != 501):
            return errors.ServerError(
                f"cannot {what}: the Kubernetes API answered {status} ({message})"
            )
        return errors.ClusterError(f"cannot {what}: {message}")
    if isinstance(exc, json.JSONDecodeError):
        return errors.ServerError(f"cannot {what}: the Kubernetes API at {host} sent invalid JSON")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # retries are 0, so this only wraps the one real failure
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.SSLError):
        # NewConnectionError (refused, DNS) is a ConnectTimeoutError in urllib3 2.
        reason = str(exc).split(": ", 1)[-1]
        return errors.ClusterUnreachable(f"cannot reach the Kubernetes API at {host} ({reason})")
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return errors.ServerError(
            f"cannot {what}: the Kubernetes API at {host} did not answer in time"
        )
    if isinstance(exc, urllib3.exceptions.ProtocolError | OSError):
        return errors.ServerError(f"cannot {what}: the connection to {host} broke ({exc})")
    return errors.ClusterUnreachable(f"cannot reach the Kubernetes API at {host} ({exc})")


def _server_message(exc: Any) -> str:
    """The `message` of the API's Status body, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(exc.reason or f"HTTP {exc.status}").strip().splitlines()[0]


def _retry_after(exc: BaseException) -> float:
    headers = getattr(exc, "headers", None)
    try:
        value = float(headers.get("Retry-After", 0)) if headers else 0.0
    except (TypeError, ValueError):
        return 0.0
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def _json_lines(response: Any) -> Iterator[Json]:
    """The events of a watch response, one JSON object per line, as they arrive."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=False):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield cast(Json, json.loads(line))
    if pending.strip():
        yield cast(Json, json.loads(pending))


def _resource(kind: workloads.Kind) -> str:
    return f"{kind.plural}.apps"


def _subject(ref: workloads.WorkloadRef) -> str:
    return f"{ref.kind.lower} {ref.namespace}/{ref.name}"


# ---------------------------------------------------------------------- JSON -> values
