"""The front process: the bot's public HTTP port, in a process of its own.

    python -m bot.transport.front LISTEN_FD FRAMES_FD UPSTREAM_PORT LOG_FORMAT   (by frontdoor.py)

Why a process: an ack must not wait behind the bot's own Python, which in a burst of hundreds
of commands is the jobs' bookkeeping on the same GIL (docs/benchmarks.md §D). Here nothing
else runs: a signed `/myctl` command or approval click is verified, acked at once with an
empty 200 and handed over as a frame (bot/transport/frames.py); the bot's process answers what
the ack would have said (usage, help, busy) through the request's response_url. Everything
else — a request that fails verification, ssl_check, registry hooks, /healthz, /readyz,
/metrics — is passed through to the bot's own server on loopback (bot/transport/upstream.py),
which answers exactly as it would on the public port. When the hand-over queue is full, a
command is passed through too, and the bot's process answers it itself.

The process exits when its standard input closes: the bot's process holds the other end.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot import logs
from bot.hooks import request as hook_request
from bot.hooks import route as hook_route
from bot.rendering import approvals as approval_texts
from bot.transport import frames, upstream

log = logging.getLogger("bot.front")

# Requests acked but not yet taken by the bot's process. Past this the bot is far behind, and a
# command goes the slow way (passed through) instead of piling up here.
HANDOVER_QUEUE = 4096
_FORM = "application/x-www-form-urlencoded"
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


def is_ours(form: dict[str, list[str]]) -> bool:
    """A `/myctl` command or a click on one of our buttons: what the bot's listeners take."""
    if "ssl_check" in form:
        return False
    if form.get("command") == ["/myctl"]:
        return True
    payload = form.get("payload")
    if not payload or len(payload) != 1:
        return False
    try:
        data = json.loads(payload[0])
    except ValueError:
        return False
    if not isinstance(data, dict) or data.get("type") != "block_actions":
        return False
    if not frames.well_formed(data):
        return False
    # bolt matches a click's listener by its first action.
    return bool(approval_texts.ACTION_PATTERN.match(data["actions"][0]["action_id"]))


class Front:
    def __init__(self, signing_secret: str, upstream_port: int, handover: socket.socket) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self.upstream = upstream.Upstream(upstream_port)
        self._queue: queue.Queue[bytes] = queue.Queue(HANDOVER_QUEUE)
        self._handover = handover

    def takes(self, headers: Any, body: bytes) -> bool:
        """Whether the front acks this request itself: signed, and one of ours."""
        content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if content_type != _FORM or not timestamp or not signature:
            return False
        if not self._verifier.is_valid(body, timestamp, signature):
            return False  # the bot's server answers it (401), exactly as bolt does
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return False
        return is_ours(form)

    def hand_over(self, frame: frames.Frame) -> bool:
        try:
            self._queue.put_nowait(frames.encode(frame))
        except queue.Full:
            return False
        return True

    def send_forever(self) -> None:
        while True:
            data = self._queue.get()
            try:
                self._handover.sendall(data)
            except OSError:
                log.error("front: the bot's process is gone; exiting")
                os._exit(1)


class _Handler(BaseHTTPRequestHandler):
    front: Front  # set on a per-server subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the bot's server logs what it serves, without query strings (http.py)

    def do_GET(self) -> None:
        self._pass_on(b"")

    def do_POST(self) -> None:
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        # What the bot's server reads at most on this path: more is refused there, unread.
        limit = hook_request.MAX_BODY_BYTES if hook_route.is_hook(path) else frames.MAX_BODY
        declared = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked and declared is not None:
            # Two framings that disagree: the way requests are smuggled past a proxy.
            self._reply(400, _TEXT, b"both Content-Length and chunked\n", close=True)
            return
        if declared is None and not chunked:
            body: bytes | None = b""
        elif declared is None:
            try:
                body = self._read_chunked(limit)
            except ValueError:
                self._reply(400, _TEXT, b"bad chunked body\n", close=True)
                return
        elif declared.strip().isdigit() and int(declared) <= limit:
            body = self.rfile.read(int(declared))
        else:
            body = None  # the bot's server refuses it (400 or 413) without reading it
        if body is not None and path == frames.EVENTS_PATH and self.front.takes(self.headers, body):
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.lower(), []).append(value)
            frame = frames.Frame(headers, body.decode("utf-8"), time.monotonic() - started)
            if self.front.hand_over(frame):
                self._reply(200, _TEXT, b"")
                return
        self._pass_on(body, declared)

    def _other(self) -> None:
        self._pass_on(b"")

    do_PUT = do_PATCH = do_DELETE = _other

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body, at most one byte past `limit` (the bot's server then says 413).
        ValueError for a chunk size that is not hex."""
        data = bytearray()
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size < 0:
                raise ValueError("a negative chunk size")
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return bytes(data)
            room = limit + 1 - len(data)
            data += self.rfile.read(min(size, room))
            if size >= room:
                self.close_connection = True  # the rest is not read
                return bytes(data)
            self.rfile.readline(8)  # the chunk's CRLF

    def _pass_on(self, body: bytes | None, declared: str | None = None) -> None:
        try:
            answer = self.front.upstream.pass_on(
                self.command, self.path, self.headers.items(), body, declared_length=declared
            )
        except (OSError, ValueError) as exc:
            log.warning("front: the bot's server did not answer: %s", type(exc).__name__)
            self._reply(502, _TEXT, b"bad gateway\n")
            return
        self._reply(answer.status, answer.headers, answer.body, answer.close or body is None)

    def _reply(
        self,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listener: socket.socket, handler: type[_Handler]) -> None:
        # The socket is the bot's process's, already listening (frontdoor.py): not bound again.
        super().__init__(listener.getsockname()[:2], handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that dropped its connection
        super().handle_error(request, client_address)


def _exit_with_parent() -> None:
    sys.stdin.buffer.read()  # returns at EOF: the bot's process closed it, or died
    os._exit(0)


def main(argv: Sequence[str]) -> int:
    listen_fd, handover_fd, upstream_port = (int(arg) for arg in argv[:3])
    listener = socket.socket(fileno=listen_fd)
    handover = socket.socket(fileno=handover_fd)
    # The first line of standard input is the signing secret: not in argv, where `ps` shows it,
    # and this process's environment has none of the bot's credentials (frontdoor.py).
    signing_secret = sys.stdin.buffer.readline().decode("utf-8").strip()
    logs.configure(argv[3], "WARNING", secrets=[signing_secret])  # the bot's own format
    front = Front(signing_secret, upstream_port, handover)
    handler = type("FrontHandler", (_Handler,), {"front": front})
    threading.Thread(target=_exit_with_parent, name="front-parent", daemon=True).start()
    threading.Thread(target=front.send_forever, name="front-handover", daemon=True).start()
    _Server(listener, handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
