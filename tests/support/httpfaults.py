"""A TLS-terminating fault proxy in front of the API server: answers chosen requests itself
(500, 503, 429 with `Retry-After`, 410), stalls them, or breaks a watch, and forwards the rest,
so tests meet what the API server really does under load, which the TCP proxy (faultproxy.py)
cannot: it picks requests, not connections.

It serves on a free loopback port with the API server's own certificate (signed by the test CA,
valid for 127.0.0.1), so clients keep verifying TLS; upstream it connects as the admin. Bodies of
ordinary answers are read whole; a streaming (chunked) answer, a watch, is forwarded event by
event as it arrives. Rules are taken in order, each for the next matching requests:

    fail(method, path_part, statuses)   answer with `statuses` one by one (`forever`: the last
                                        one for ever after)
    stall(method, path_part)            never answer: hold the request until the client gives up
                                        (`forwarded=True`: the server gets it, its answer is held)
    cut_watch(after_events)             forward a watch's first events, then drop the connection
    silence_watch(after_events)         forward a watch's first events, then nothing more, the
                                        connection held open (a server gone silent)
    expire_watch()                      answer a watch with the API server's ERROR event, code
                                        410 (an expired resourceVersion), then end it

`watch=True` / `False` narrows a rule to watch requests (`?watch=true`) or the others. Daemon
threads only; `close()` stops them and the connections upstream.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import http.server
import json
import select
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import controlplane as cp
from tests.support import kubepki

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
# How long a stalled request is held at most: past any read timeout a test configures, short
# enough that a forgotten stall does not outlive the test by much.
MAX_STALL_SECONDS = 60.0


class Fault(enum.Enum):
    STALL = "stall"
    STALL_ANSWER = "stall-answer"  # forwarded, then the answer held
    CUT = "cut"
    SILENCE = "silence"  # a watch's first events forwarded, then nothing, the connection open
    EXPIRE = "expire"


Action = int | Fault  # an HTTP status answered by the proxy, or a fault


@dataclass
class Rule:
    method: str
    path_part: str
    actions: deque[Action]
    retry_after: str | None = None
    forever: Action | None = None  # answered once `actions` ran out, for ever
    watch: bool | None = None  # None: any request; True: watches only; False: no watches
    after_events: int = 0  # CUT: events forwarded before the connection is dropped

    def matches(self, method: str, path: str) -> bool:
        bare, _, query = path.partition("?")
        if self.watch is not None and ("watch=true" in query) != self.watch:
            return False
        return method == self.method and self.path_part in bare


@dataclass
class Seen:
    method: str
    path: str
    status: int  # 0 for a stalled request
    injected: bool
    fault: Fault | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class HttpFaults:
    plane: cp.ControlPlane
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    upstreams: set[http.client.HTTPSConnection] = field(default_factory=set)

    def fail(
        self,
        method: str,
        path_part: str,
        statuses: list[int],
        *,
        retry_after: str | None = None,
        forever: bool = False,
        watch: bool | None = None,
    ) -> None:
        last = statuses[-1] if forever else None
        self._add(Rule(method, path_part, deque(statuses), retry_after, last, watch))

    def stall(
        self,
        method: str,
        path_part: str,
        *,
        times: int = 1,
        forever: bool = False,
        forwarded: bool = False,
    ) -> None:
        fault = Fault.STALL_ANSWER if forwarded else Fault.STALL
        self._add(
            Rule(method, path_part, deque([fault] * times), forever=fault if forever else None)
        )

    def cut_watch(self, path_part: str, *, after_events: int, times: int) -> None:
        actions: deque[Action] = deque([Fault.CUT] * times)
        self._add(Rule("GET", path_part, actions, watch=True, after_events=after_events))

    def silence_watch(self, path_part: str, *, after_events: int, times: int) -> None:
        actions: deque[Action] = deque([Fault.SILENCE] * times)
        self._add(Rule("GET", path_part, actions, watch=True, after_events=after_events))

    def expire_watch(self, path_part: str, *, times: int) -> None:
        self._add(Rule("GET", path_part, deque([Fault.EXPIRE] * times), watch=True))

    def injected(self, method: str, path_part: str = "", *, watch: bool | None = None) -> list[int]:
        """The statuses the proxy answered itself, in order."""
        return [
            s.status for s in self._seen(method, path_part, watch) if s.injected and not s.fault
        ]

    def faulted(self, fault: Fault) -> int:
        """How many requests met `fault` (a cut or a silence once the watch really broke)."""
        with self.lock:
            return sum(1 for s in self.seen if s.fault is fault)

    def retried_after(self, status: int | Fault) -> float:
        """Seconds from the first request met by `status` to the next one for the same path."""
        with self.lock:
            first = next(s for s in self.seen if s.injected and status in (s.status, s.fault))
            later = [s for s in self.seen if s.path == first.path and s.at > first.at]
        return later[0].at - first.at

    def sent(self, method: str, path_part: str = "", *, watch: bool | None = None) -> int:
        return len(self._seen(method, path_part, watch))

    def start(self) -> HttpFaults:
        faults = self
        host, port = self.plane.server.split("//", 1)[1].rsplit(":", 1)
        upstream_tls = ssl.create_default_context(cafile=str(self.plane.ca_file))
        upstream_tls.load_cert_chain(self.plane.pki / "admin.crt", self.plane.pki / "admin.key")

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            _fault: Action | None = None  # what this request met

            def log_message(self, *args: object) -> None:  # quiet: tests read `seen`
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule, action = faults._decide(self.command, self.path)
                self._fault = action
                if isinstance(action, int):
                    self._status(action, rule.retry_after if rule and action == 429 else None)
                elif action is Fault.STALL:
                    self._hold()
                elif action is Fault.EXPIRE:
                    self._expire()
                else:
                    self._forward(body, action, rule)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def _status(self, status: int, retry_after: str | None) -> None:
                payload = json.dumps(_status_body(status, f"injected {status}")).encode()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _hold(self) -> None:
                """Answer nothing until the client closes the connection (its read timeout)."""
                self.close_connection = True
                deadline = time.monotonic() + MAX_STALL_SECONDS
                while time.monotonic() < deadline:
                    ready, _, _ = select.select([self.connection], [], [], 0.2)
                    try:
                        if ready and not self.connection.recv(1):
                            return
                    except OSError:  # an unclean close (TLS without close_notify)
                        return

            def _expire(self) -> None:
                """What the API server sends for a watch from a compacted resourceVersion."""
                self._start_stream(200, [("Content-Type", "application/json")])
                status = _status_body(410, "too old resource version (injected)")
                self._chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
                self._chunk(b"")

            def _forward(self, body: bytes, action: Action | None, rule: Rule | None) -> None:
                watch = "watch=true" in self.path.partition("?")[2]
                # A watch lasts as long as it asked the server for; anything else 30 s at most.
                conn = http.client.HTTPSConnection(
                    host, int(port), context=upstream_tls, timeout=None if watch else 30
                )
                with faults.lock:
                    faults.upstreams.add(conn)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    if action is Fault.STALL_ANSWER:
                        answer.read()  # the server has done it; the client never hears
                        self._hold()
                        return
                    seen = faults._record(self.command, self.path, answer.status)
                    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP]
                    if answer.chunked:
                        broken = rule if action in (Fault.CUT, Fault.SILENCE) else None
                        self._stream(answer, kept, broken.after_events if broken else None, seen)
                        return
                    data = answer.read()
                    self.send_response(answer.status)
                    for key, value in kept:
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client or the test went away
                finally:
                    with faults.lock:
                        faults.upstreams.discard(conn)
                    conn.close()

            def _stream(
                self,
                answer: http.client.HTTPResponse,
                kept: list[tuple[str, str]],
                cut: int | None,
                seen: Seen,
            ) -> None:
                """Forward a chunked answer line by line (a watch: one event a line) as it comes;
                with `cut`, break it after that many events, mid-stream: drop the connection
                (a cut) or hold it without a word until the client gives up (a silence)."""
                self._start_stream(answer.status, kept)
                events = 0
                while True:
                    if cut is not None and events >= cut:
                        fault = Fault.SILENCE if self._fault is Fault.SILENCE else Fault.CUT
                        with faults.lock:
                            seen.injected, seen.fault = True, fault
                        if fault is Fault.SILENCE:
                            self._hold()
                            return
                        self.close_connection = True
                        self.connection.shutdown(
                            socket.SHUT_RDWR
                        )  # no last chunk: the stream breaks
                        return
                    line = answer.readline()
                    if not line:
                        self._chunk(b"")
                        return
                    self._chunk(line)
                    events += line.strip() != b""

            def _start_stream(self, status: int, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

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
        with self.lock:
            for conn in self.upstreams:
                # Shut down, not close: closing waits for the thread reading a watch (the
                # buffered reader's lock), which would hold the test until the watch times out.
                if conn.sock is not None:
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def kubeconfig(self, path: Path) -> Path:
        return kubepki.write_kubeconfig(
            path, f"https://127.0.0.1:{self.port}", self.plane.ca_file, user="myctl-admin",
            cert=self.plane.pki / "admin.crt", key=self.plane.pki / "admin.key",
        )  # fmt: skip

    def _add(self, rule: Rule) -> None:
        with self.lock:
            self.rules.append(rule)

    def _seen(self, method: str, path_part: str, watch: bool | None) -> list[Seen]:
        with self.lock:
            return [
                s
                for s in self.seen
                if s.method == method
                and path_part in s.path
                and (watch is None or ("watch=true" in s.path) == watch)
            ]

    def _decide(self, method: str, path: str) -> tuple[Rule | None, Action | None]:
        with self.lock:
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                if rule.actions:
                    action = rule.actions.popleft()
                elif rule.forever is not None:
                    action = rule.forever
                else:
                    continue
                if isinstance(action, int):
                    self.seen.append(Seen(method, path, action, injected=True))
                elif action not in (Fault.CUT, Fault.SILENCE):  # recorded when it happens
                    self.seen.append(Seen(method, path, 0, injected=True, fault=action))
                return rule, action
        return None, None

    def _record(self, method: str, path: str, status: int) -> Seen:
        seen = Seen(method, path, status, injected=False)
        with self.lock:
            self.seen.append(seen)
        return seen


def _status_body(code: int, message: str) -> dict[str, object]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Expired" if code == 410 else "",
        "code": code,
    }
