"""HTTP to the API server through the official client's `ApiClient.call_api`, as raw JSON.

No generated API class and no model module is used (see `lean`): the paths are our own, the
bodies plain dicts, responses read with `_preload_content=False` and parsed with `json.loads`.
Every `ApiException` and urllib3 error becomes one of `commands.values.errors` here, once, in
`translate`; retries of temporary failures happen here too, in `Transport.call`, so no other
layer retries HTTP.

urllib3 is not imported here: the direct client (kube/direct.py) does without it, and its
import was 30–40 ms of a cached CLI command (docs/benchmarks.md §C). Its exceptions are
matched once the official client has imported it (`connection_errors`, `translate`): before
that, nothing can raise one.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from commands.kube import direct, endpoints, lean
from commands.values import clock as clock_mod
from commands.values import errors, settings

lean.load()
from kubernetes.client import exceptions as k8s_exceptions  # noqa: E402 (after lean.load)

ApiException = k8s_exceptions.ApiException
Json = dict[str, Any]
T = TypeVar("T")
Query = Mapping[str, str | int | bool | None]

# (connect, read) seconds; why these defaults, and the `kube` configuration keys that change
# them, are in commands/values/settings.py (`KubeSettings`) and docs/configuration.md.
REQUEST_TIMEOUT = settings.KubeSettings().request_timeout
# Attempts for 429/5xx/read timeouts, sleeping 0.2 s then 0.4 s in between: rides out an API
# server restart or a leader change, and still fails within about a second plus timeouts.
ATTEMPTS = 3
BASE_DELAY = 0.2
# A server's Retry-After (429) is honoured, but capped so one command cannot stall for minutes.
MAX_RETRY_AFTER = 5.0
STRATEGIC_MERGE = "application/strategic-merge-patch+json"


def configure(configuration: Any, concurrency: int) -> Any:
    """An ApiClient whose urllib3 layer never retries (our `call` is the only retry policy)
    and whose pool holds a connection per engine thread (urllib3 would otherwise discard and
    reopen connections beyond its default pool size under a concurrent restart).

    A `endpoints.Endpoint` (a plain kubeconfig context, see kube/direct.py) gets a `DirectClient`
    with the same two properties and none of the official client's imports."""
    maxsize = max(concurrency, 1) + 2  # +2: list/cache calls
    if isinstance(configuration, endpoints.Endpoint):
        return direct.DirectClient(configuration, maxsize)
    from kubernetes.client import api_client as k8s_api_client

    configuration.retries = 0
    configuration.client_go_retries = False
    configuration.connection_pool_maxsize = maxsize
    return k8s_api_client.ApiClient(configuration)


@dataclass(frozen=True)
class Action:
    """What we attempted, in the words an error message needs."""

    verb: str  # RBAC verb: get, list, patch, create, update
    resource: str  # RBAC resource: deployments.apps, configmaps
    namespace: str | None
    subject: str  # "deployment shop/api", 'ConfigMap myctl/myctl-image-cache'
    cache: bool = False  # 409 (and 404 on replace) mean someone else wrote the cache
    missing: str = ""  # the NotFound message; default "<subject> not found"


class ListExpired(errors.TemporaryError):
    """410 Gone: a continue token outlived etcd compaction. Only `list_workloads` sees it."""


def quote(name: str) -> str:
    """A name or namespace as one path segment (names are DNS labels; this is defence only)."""
    return urllib.parse.quote(name, safe="")


class Transport:
    """One thread-safe ApiClient (engine threads share its connection pool), counting requests."""

    def __init__(
        self,
        api_client: Any,
        *,
        clock: clock_mod.Clock | None = None,
        attempts: int = ATTEMPTS,
        base_delay: float = BASE_DELAY,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> None:
        self.api = api_client
        self._clock: clock_mod.Clock = clock or clock_mod.SystemClock()
        self._attempts = max(attempts, 1)
        self._base_delay = base_delay
        self.timeout = request_timeout
        self.host = str(api_client.configuration.host)
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, retries included (tests and benchmarks read it)

    def send(
        self,
        method: str,
        resource_path: str,
        query: Query | None = None,
        body: Json | None = None,
        *,
        content_type: str = "application/json",
        timeout: tuple[float, float] | None = None,
    ) -> Any:
        """One request; the raw response, urllib3's or `direct.Response` (the caller
        releases it)."""
        with self._lock:
            self.requests += 1
        params = [(k, _text(v)) for k, v in (query or {}).items() if v is not None]
        return self.api.call_api(
            resource_path,
            method,
            query_params=params,
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
            _preload_content=False,
            _request_timeout=timeout or self.timeout,
        )

    def call(
        self,
        action: Action,
        method: str,
        resource_path: str,
        query: Query | None = None,
        body: Json | None = None,
        *,
        content_type: str = "application/json",
        selector: str = "",
    ) -> Json:
        """Send with our timeout, retrying temporary failures, and parse the JSON."""

        def attempt() -> Json:
            response = self.send(method, resource_path, query, body, content_type=content_type)
            try:
                raw = response.data
            finally:
                response.release_conn()
            return cast(Json, json.loads(raw))

        return self._retrying(action, attempt, selector)

    def stream(
        self, action: Action, resource_path: str, query: Query, *, timeout: tuple[float, float]
    ) -> Any:
        """Open a streaming GET (a watch) with the retries of `call`: a 429, a 5xx or a broken
        connection before the first byte of the stream is retried the same bounded way. The raw
        response, for `json_lines` (the caller releases it)."""
        return self._retrying(
            action, lambda: self.send("GET", resource_path, query, timeout=timeout)
        )

    def _retrying(self, action: Action, attempt: Callable[[], T], selector: str = "") -> T:
        delay = self._base_delay
        for number in range(1, self._attempts + 1):
            try:
                return attempt()
            except (k8s_exceptions.ApiException, json.JSONDecodeError, *connection_errors()) as exc:
                error = translate(exc, action, self.host, selector)
                if not isinstance(error, errors.ServerError):
                    raise error from exc
                if number == self._attempts:
                    raise errors.ServerError(f"{error} (gave up after {number} attempts)") from exc
                self._clock.sleep(max(delay, _retry_after(exc)))
                delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises


def connection_errors() -> tuple[type[Exception], ...]:
    """What sending a request or reading its body raises when the connection fails: the
    standard library's (the direct client's, with its `ConnectError` and `ReadTimeout`) and,
    when the official client is in use, urllib3's."""
    urllib3_exceptions: Any = sys.modules.get("urllib3.exceptions")
    found: tuple[type[Exception], ...] = (OSError, http.client.HTTPException)
    return (*found, urllib3_exceptions.HTTPError) if urllib3_exceptions else found


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
            return ListExpired(f"cannot {what}: {message}")
        if status == 400 and selector:
            return errors.UsageError(f"invalid label selector {selector!r}: {message}")
        if status == 429 or (status >= 500 and status != 501):
            return errors.ServerError(
                f"cannot {what}: the Kubernetes API answered {status} ({message})"
            )
        return errors.ClusterError(f"cannot {what}: {message}")
    if isinstance(exc, json.JSONDecodeError):
        return errors.ServerError(f"cannot {what}: the Kubernetes API at {host} sent invalid JSON")
    unreachable = f"cannot reach the Kubernetes API at {host}"
    urllib3_exceptions: Any = sys.modules.get("urllib3.exceptions")  # see the module docstring
    if urllib3_exceptions is not None:
        if isinstance(exc, urllib3_exceptions.MaxRetryError) and exc.reason is not None:
            exc = exc.reason  # retries are 0, so this only wraps the one real failure
        if isinstance(exc, urllib3_exceptions.ConnectTimeoutError | urllib3_exceptions.SSLError):
            # NewConnectionError (refused, DNS) is a ConnectTimeoutError in urllib3 2.
            reason = str(exc).split(": ", 1)[-1]
            return errors.ClusterUnreachable(f"{unreachable} ({reason})")
        if isinstance(exc, urllib3_exceptions.ReadTimeoutError):
            exc = direct.ReadTimeout(str(exc))
        elif isinstance(exc, urllib3_exceptions.ProtocolError):
            return errors.ServerError(f"cannot {what}: the connection to {host} broke ({exc})")
    if isinstance(exc, direct.ConnectError | ssl.SSLError):
        return errors.ClusterUnreachable(f"{unreachable} ({exc})")
    if isinstance(exc, direct.ReadTimeout):
        return errors.ServerError(
            f"cannot {what}: the Kubernetes API at {host} did not answer in time"
        )
    if isinstance(exc, OSError | http.client.HTTPException):
        return errors.ServerError(f"cannot {what}: the connection to {host} broke ({exc})")
    return errors.ClusterUnreachable(f"{unreachable} ({exc})")


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


def json_lines(response: Any) -> Iterator[Json]:
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
