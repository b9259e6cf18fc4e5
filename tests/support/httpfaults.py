"""A TLS-terminating fault proxy in front of the API server: answers chosen requests itself with
an HTTP status (500, 503, 429 with `Retry-After`) and forwards the rest, so tests meet the
statuses the API server really sends under load, which the TCP proxy (faultproxy.py) cannot.

It serves on a free loopback port with the API server's own certificate (signed by the test CA,
valid for 127.0.0.1), so clients keep verifying TLS; upstream it connects as the admin. Rules
are taken in order: `fail(method, path_part, statuses)` answers the next matching requests with
`statuses` one by one (`times=None`: for ever). Bodies are read whole (no watches: the tests
using it do not `--wait`). Daemon threads only; `close()` stops them.
"""

from __future__ import annotations

import http.client
import http.server
import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import controlplane as cp
from tests.support import kubepki

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Rule:
    method: str
    path_part: str
    statuses: deque[int]
    retry_after: str | None
    forever: int | None = None  # a status answered once `statuses` ran out, for ever

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.path_part in path.split("?", 1)[0]


@dataclass
class Seen:
    method: str
    path: str
    status: int
    injected: bool
    at: float = field(default_factory=time.monotonic)


@dataclass
class HttpFaults:
    plane: cp.ControlPlane
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        method: str,
        path_part: str,
        statuses: list[int],
        *,
        retry_after: str | None = None,
        forever: bool = False,
    ) -> None:
        with self.lock:
            last = statuses[-1] if forever else None
            self.rules.append(Rule(method, path_part, deque(statuses), retry_after, last))

    def injected(self, method: str, path_part: str = "") -> list[int]:
        with self.lock:
            return [
                s.status
                for s in self.seen
                if s.injected and s.method == method and path_part in s.path
            ]

    def retried_after(self, status: int) -> float:
        """Seconds from the first injected `status` to the next request for the same path."""
        with self.lock:
            first = next(s for s in self.seen if s.injected and s.status == status)
            later = [s for s in self.seen if s.path == first.path and s.at > first.at]
        return later[0].at - first.at

    def sent(self, method: str, path_part: str = "") -> int:
        with self.lock:
            return sum(1 for s in self.seen if s.method == method and path_part in s.path)

    def start(self) -> HttpFaults:
        faults = self
        host, port = self.plane.server.split("//", 1)[1].rsplit(":", 1)
        upstream_tls = ssl.create_default_context(cafile=str(self.plane.ca_file))
        upstream_tls.load_cert_chain(self.plane.pki / "admin.crt", self.plane.pki / "admin.key")

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet: tests read `seen`
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, retry_after = faults._decide(self.command, self.path)
                if status is not None:
                    payload = json.dumps(
                        {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "message": f"injected {status}", "code": status}
                    ).encode()  # fmt: skip
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", retry_after)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPSConnection(
                    host, int(port), context=upstream_tls, timeout=30
                )
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                faults._record(self.command, self.path, answer.status, injected=False)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        serving.load_cert_chain(self.plane.pki / "apiserver.crt", self.plane.pki / "apiserver.key")
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = serving.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def kubeconfig(self, path: Path) -> Path:
        return kubepki.write_kubeconfig(
            path, f"https://127.0.0.1:{self.port}", self.plane.ca_file, user="myctl-admin",
            cert=self.plane.pki / "admin.crt", key=self.plane.pki / "admin.key",
        )  # fmt: skip

    def _decide(self, method: str, path: str) -> tuple[int | None, str | None]:
        with self.lock:
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                if rule.statuses:
                    status = rule.statuses.popleft()
                elif rule.forever is not None:
                    status = rule.forever
                else:
                    continue
                self.seen.append(Seen(method, path, status, injected=True))
                return status, rule.retry_after if status == 429 else None
        return None, None

    def _record(self, method: str, path: str, status: int, *, injected: bool) -> None:
        with self.lock:
            self.seen.append(Seen(method, path, status, injected))
