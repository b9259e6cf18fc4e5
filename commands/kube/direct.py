"""HTTP to the API server on the standard library alone, for kubeconfigs that need nothing more.

`kubernetes.config` and `kubernetes.client.api_client` import requests, requests-oauthlib,
oauthlib, dateutil, multiprocessing and six before the first request: about half of a cached
`myctl select` process (docs/benchmarks.md §C). A kubeconfig whose context names a server, a
CA and a client certificate or a static token (what kubeadm, kind, k3s and our test control
plane write) needs none of that, so `kubeconfig.load(direct=True)` turns such a context into an
`Endpoint` (commands/kube/endpoints.py) and `transport.configure` into a `DirectClient`.
Anything else (exec plugins, auth providers, basic auth, proxies, several files, in-cluster)
keeps the official loader and `ApiClient`, which implement those. Both raise the client's
`ApiException` for HTTP errors, so `transport.translate` is the one error translation for either.

The client is `http.client` + `ssl`, not urllib3: urllib3's import alone (its URL parser
compiles a dozen regular expressions) was 30–40 ms of a ~250 ms cached `select`
(docs/benchmarks.md §C). What this module keeps of urllib3's contract: raw responses read by
`transport` (`status`, `reason`, `headers`, `data`, `stream`, `release_conn`), separate connect
and read timeouts, no retries, and a pool of kept-alive connections, one per thread at a time
(`_Pool`), sized like urllib3's was. Failures to open a connection are `ConnectError`, read
timeouts `ReadTimeout`; TLS failures stay `ssl.SSLError`; `transport.translate` words them.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from commands.kube import endpoints, lean
from commands.kube.endpoints import Endpoint


class Configuration:
    """The part of the official `Configuration` that `transport` reads."""

    def __init__(self, host: str) -> None:
        self.host = host


class ConnectError(OSError):
    """The TCP connection could not be opened (refused, no route, name unknown, timed out)."""


class ReadTimeout(TimeoutError):
    """The API server accepted the request but did not answer within the read timeout."""


class DirectClient:
    """Duck-types the `ApiClient.call_api` that `transport.Transport.send` uses."""

    def __init__(self, where: Endpoint, maxsize: int) -> None:
        self.configuration = Configuration(where.host)
        self._token = where.token
        parts = urllib.parse.urlsplit(where.host)
        https = parts.scheme == "https"
        self._prefix = parts.path  # a server URL may carry a path (a proxy in front)
        # A CA or key that does not load fails each request, as with the official client
        # (urllib3 loads them per connection), so `transport.translate` words it once.
        self._unusable: Exception | None = None
        context = None
        if https:
            try:
                context = endpoints.ssl_context(where)
            except (ssl.SSLError, OSError, ValueError) as exc:
                self._unusable = exc
        self._pool = _Pool(
            parts.hostname or "",
            parts.port or (443 if https else 80),
            context,
            where.server_name,
            maxsize,
        )

    def call_api(
        self,
        resource_path: str,
        method: str,
        *,
        query_params: Sequence[tuple[str, str]] = (),
        header_params: Mapping[str, str] | None = None,
        body: object = None,
        _request_timeout: tuple[float, float] | None = None,
        **_ignored: object,  # ApiClient options that only mean "raw response", as here
    ) -> Response:
        if self._unusable is not None:
            raise ssl.SSLError(f"TLS settings unusable: {self._unusable}")
        url = self._prefix + resource_path
        if query_params:
            url += "?" + urllib.parse.urlencode(list(query_params))
        headers = dict(header_params or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        connect, read = _request_timeout or (None, None)
        connection = self._pool.take(connect)
        try:
            connection.sock.settimeout(read)
            connection.request(method, url, body=data, headers=headers)
            raw = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            raise ReadTimeout(f"read timed out ({read} s)") from exc
        except BaseException:
            connection.close()
            raise
        response = Response(raw, connection, self._pool)
        if not 200 <= response.status <= 299:
            try:
                raise _api_exception(response)
            finally:
                response.release_conn()
        return response

    def close(self) -> None:
        self._pool.clear()


class Response:
    """What `transport` reads of a urllib3 response with `preload_content=False`."""

    def __init__(
        self, raw: http.client.HTTPResponse, connection: http.client.HTTPConnection, pool: _Pool
    ) -> None:
        self._raw = raw
        self._connection: http.client.HTTPConnection | None = connection
        self._pool = pool
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._read(self._raw.read)
        return self._data

    def stream(self, amt: int | None = None, decode_content: bool = False) -> Iterator[bytes]:
        """Chunks as they arrive (a watch sends one event per chunk); ends with the body."""
        del decode_content  # identity encoding: http.client sends `Accept-Encoding: identity`
        while chunk := self._read(lambda: self._raw.read1(amt or 65536)):
            yield chunk

    def release_conn(self) -> None:
        """Back to the pool when the body was read to its end, else closed (a half-read
        response would be read as the next response's start)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._raw.isclosed() and not self._raw.will_close:
            self._pool.give(connection)
        else:
            self._raw.close()
            connection.close()

    def _read(self, read: Any) -> bytes:
        try:
            return bytes(read())
        except TimeoutError as exc:
            raise ReadTimeout("read timed out") from exc


class _Connection(http.client.HTTPConnection):
    """One kept-alive connection; TLS when given a context, checked against `server_name`
    (the kubeconfig's tls-server-name) or the host."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float | None,
        context: ssl.SSLContext | None,
        server_name: str | None,
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._context = context
        self._server_name = _ascii(server_name or host)

    def connect(self) -> None:
        address: Any = (_ascii(self.host), self.port)  # typeshed omits bytes; getaddrinfo takes it
        try:
            self.sock = socket.create_connection(address, self.timeout)
        except OSError as exc:
            raise ConnectError(f"failed to connect: {exc}") from exc
        # As http.client does: requests are small writes that should not wait for ACKs.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is not None:
            try:
                self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)
            except TimeoutError as exc:  # no answer to the handshake: as unreachable as no SYN-ACK
                raise ConnectError(f"failed to connect: TLS handshake {exc}") from exc


def _ascii(name: str) -> str | bytes:
    """An ASCII host name as bytes: `getaddrinfo` and `ssl` then skip the idna codec, whose
    import (with stringprep) is ~1.5 ms of every CLI start; other names keep the codec."""
    return name.encode("ascii") if name.isascii() else name


class _Pool:
    """Idle connections, each used by one thread at a time; at most `maxsize` kept (the engine's
    concurrency + 2, see `transport.configure`), any beyond are closed when given back."""

    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        server_name: str | None,
        maxsize: int,
    ) -> None:
        self._address = (host, port)
        self._context = context
        self._server_name = server_name
        self._maxsize = maxsize
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def take(self, connect_timeout: float | None) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            if not _dropped(connection):
                return connection
            connection.close()
        host, port = self._address
        connection = _Connection(host, port, connect_timeout, self._context, self._server_name)
        try:
            connection.connect()
        except BaseException:
            connection.close()
            raise
        return connection

    def give(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if isinstance(connection, _Connection) and len(self._idle) < self._maxsize:
                self._idle.append(connection)
                return
        connection.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server: readable while idle means EOF (or
    bytes nobody asked for), as urllib3 checks before reusing one."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _api_exception(response: Response) -> Exception:
    lean.load()
    from kubernetes.client import exceptions as k8s_exceptions

    exc: Any = k8s_exceptions.ApiException(status=response.status, reason=response.reason)
    exc.body = response.data
    exc.headers = response.headers
    return exc  # type: ignore[no-any-return]
