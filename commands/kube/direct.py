"""HTTP to the API server on the standard library alone, for kubeconfigs that need nothing more.

`kubernetes.config` and `kubernetes.client.api_client` import requests, requests-oauthlib,
oauthlib, dateutil, multiprocessing and six before the first request: about half of a cached
`myctl select` process (docs/benchmarks.md §C). A kubeconfig whose context names a server, a
CA and a client certificate or a static token (what kubeadm, kind, k3s and our test control
plane write) needs none of that, so `kubeconfig.load(direct=True)` turns such a context into an
`Endpoint` and `transport.configure` into a `DirectClient`. Anything else (exec plugins, auth
providers, basic auth, proxies, several files, in-cluster) keeps the official loader and
`ApiClient`, which implement those. Both raise the client's `ApiException` for HTTP errors, so
`transport.translate` is the one error translation for either.

The client is `http.client` + `ssl`, not urllib3: urllib3's import alone (its URL parser
compiles a dozen regular expressions) was 30–40 ms of a ~250 ms cached `select`
(docs/benchmarks.md §C). What this module keeps of urllib3's contract: raw responses read by
`transport` (`status`, `reason`, `headers`, `data`, `stream`, `release_conn`), separate connect
and read timeouts, no retries, and a pool of kept-alive connections, one per thread at a time
(`_Pool`), sized like urllib3's was. Failures to open a connection are `ConnectError`, read
timeouts `ReadTimeout`; TLS failures stay `ssl.SSLError`; `transport.translate` words them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import json
import os
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commands.kube import lean

# The keys a context may use and still be served here; any other key (exec, auth-provider,
# username, proxy-url, tokenFile, impersonation…) needs the official loader.
CLUSTER_KEYS = frozenset(
    {
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "insecure-skip-tls-verify",
        "tls-server-name",
        "extensions",
    }
)
USER_KEYS = frozenset(
    {
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "token",
        "extensions",
    }
)
# The official Configuration reads these; a direct client would silently ignore them.
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@dataclass(frozen=True, repr=False)  # repr=False: never print a token or a key
class Endpoint:
    """Where and how to reach the API server, from one kubeconfig context."""

    host: str
    ca_file: str | None = None
    ca_pem: str | None = None
    verify: bool = True
    server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    token: str | None = None


def endpoint(
    doc: Mapping[str, Any], context: str, base: Path, environ: Mapping[str, str]
) -> Endpoint | None:
    """The `Endpoint` of `context` in one parsed kubeconfig, or None when it needs more than
    this module does (then the official loader decides, and reports any error)."""
    if any(environ.get(name) for name in PROXY_VARIABLES):
        return None
    chosen = _named(doc.get("contexts"), context, "context")
    if chosen is None:
        return None
    cluster = _named(doc.get("clusters"), chosen.get("cluster"), "cluster")
    user = _named(doc.get("users"), chosen.get("user"), "user") if chosen.get("user") else {}
    if cluster is None or user is None or set(cluster) - CLUSTER_KEYS or set(user) - USER_KEYS:
        return None
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        return None
    try:
        return Endpoint(
            host=server.rstrip("/"),
            ca_file=_path(cluster.get("certificate-authority"), base),
            ca_pem=_pem(cluster.get("certificate-authority-data")),
            verify=not cluster.get("insecure-skip-tls-verify", False),
            server_name=_text(cluster.get("tls-server-name")),
            cert_file=_path(user.get("client-certificate"), base),
            key_file=_path(user.get("client-key"), base),
            cert_pem=_bytes(user.get("client-certificate-data")),
            key_pem=_bytes(user.get("client-key-data")),
            token=_text(user.get("token")),
        )
    except (TypeError, ValueError, binascii.Error):
        return None  # malformed: the official loader words the error


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
                context = _ssl_context(where)
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


def _ssl_context(where: Endpoint) -> ssl.SSLContext:
    if where.verify:
        if where.ca_file is None and where.ca_pem is None:
            import certifi  # as the official client: Mozilla's roots when no CA is named

            context = ssl.create_default_context(cafile=certifi.where())
        else:
            context = ssl.create_default_context(cafile=where.ca_file, cadata=where.ca_pem)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if where.cert_file or where.cert_pem:
        with _files(where) as (cert, key):
            context.load_cert_chain(cert, key)
    return context


@contextlib.contextmanager
def _files(where: Endpoint) -> Iterator[tuple[str, str | None]]:
    """The client certificate and key as files (what `load_cert_chain` reads); inline data is
    written to a private temporary directory, removed once the context has loaded it."""
    if where.cert_pem is None and where.key_pem is None:
        assert where.cert_file is not None
        yield where.cert_file, where.key_file
        return
    import tempfile  # here: only inline key data needs it, and it costs ~2 ms of every start

    with tempfile.TemporaryDirectory(prefix="myctl-tls-") as tmp:
        cert = where.cert_file or _private(Path(tmp) / "client.crt", where.cert_pem)
        key = where.key_file or (_private(Path(tmp) / "client.key", where.key_pem) or None)
        yield cert, key


def _private(path: Path, content: bytes | None) -> str:
    if content is None:
        return ""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return str(path)


def _named(entries: object, name: object, field: str) -> dict[str, Any] | None:
    if not isinstance(entries, list) or not isinstance(name, str):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(field)
            return value if isinstance(value, dict) else None
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _path(value: object, base: Path) -> str | None:
    text = _text(value)
    return None if text is None else str(base / Path(text).expanduser())


def _bytes(value: object) -> bytes | None:
    text = _text(value)
    return None if text is None else base64.b64decode(text, validate=True)


def _pem(value: object) -> str | None:
    raw = _bytes(value)
    return None if raw is None else raw.decode()
