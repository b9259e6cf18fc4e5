"""A fault-injecting TCP proxy in front of the API server, controlled by the test.

A thread listens on a free loopback port and forwards each connection to the upstream
(host, port). TLS stays end to end (client ↔ API server), so the proxy works on bytes: for each
accepted connection it takes the next mode from a plan the test gives, then the default mode.

    PASS   forward both ways
    CUT    forward the request, then close both sides after `cut_after` bytes of response
           (the client sees a connection reset or a truncated TLS record mid-response)
    STALL  forward the request, never answer, hold the connection until closed (the client's
           read timeout fires)
    REFUSE close the connection at once (as if the server were down)

`kubeconfig(...)` writes a kubeconfig that points at the proxy with the admin credentials.
Only loopback, the OS picks the port, every thread is a daemon and stops with `close()`.
"""

from __future__ import annotations

import enum
import select
import socket
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from tests.support import controlplane as cp
from tests.support import kubepki

# Enough for TLS and request headers to pass before a cut: a TLS 1.3 handshake is ~4 kB.
DEFAULT_CUT_AFTER = 6000
_CHUNK = 65536


class Mode(enum.Enum):
    PASS = "pass"
    CUT = "cut"
    STALL = "stall"
    REFUSE = "refuse"


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], *, cut_after: int = DEFAULT_CUT_AFTER) -> None:
        self.upstream = upstream
        self.cut_after = cut_after
        self.default = Mode.PASS
        self._plan: deque[Mode] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self.accepted: list[Mode] = []  # the mode each connection got, in order
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="faultproxy")

    @classmethod
    def for_plane(cls, plane: cp.ControlPlane, **kwargs: int) -> FaultProxy:
        host, port = plane.server.split("//", 1)[1].rsplit(":", 1)
        return cls((host, int(port)), **kwargs).start()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def plan(self, modes: Iterable[Mode], *, then: Mode = Mode.PASS) -> None:
        """The next connections get `modes` in order; later ones get `then`."""
        with self._lock:
            self._plan = deque(modes)
            self.default = then

    def drop_all(self, then: Mode = Mode.REFUSE) -> None:
        """Close every open connection and treat new ones as `then`: the server "stops"."""
        with self._lock:
            self._plan.clear()
            self.default = then
            for sock in self._sockets:
                sock.close()

    def kubeconfig(self, plane: cp.ControlPlane, path: Path) -> Path:
        return kubepki.write_kubeconfig(
            path, self.url, plane.ca_file, user="myctl-admin",
            cert=plane.pki / "admin.crt", key=plane.pki / "admin.key",
        )  # fmt: skip

    # ------------------------------------------------------------------ forwarding
    def _next_mode(self) -> Mode:
        with self._lock:
            mode = self._plan.popleft() if self._plan else self.default
            self.accepted.append(mode)
            return mode

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue  # look at _closing again: close() does not wake a blocked accept()
            except OSError:
                return
            mode = self._next_mode()
            if mode is Mode.REFUSE:
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client, mode), daemon=True).start()

    def _serve(self, client: socket.socket, mode: Mode) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets += [client, server]
        answered = 0
        try:
            while not self._closing.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(_CHUNK)
                    if not data:
                        return
                    if sock is client:
                        server.sendall(data)
                        continue
                    if mode is Mode.STALL and answered >= self.cut_after:
                        continue  # swallow the answer: the client waits for its timeout
                    if mode is Mode.CUT and answered + len(data) > self.cut_after:
                        client.sendall(data[: max(self.cut_after - answered, 0)])
                        return
                    answered += len(data)
                    client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()
