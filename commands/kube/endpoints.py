"""A kubeconfig context as an `Endpoint` the direct client (commands/kube/direct.py) serves,
or None when it needs the official loader (docs/benchmarks.md §C)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def ssl_context(where: Endpoint) -> ssl.SSLContext:
    """TLS for `where`: its CA (else Mozilla's roots), its client certificate and key."""
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
