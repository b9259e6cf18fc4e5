"""The HTTP transport: our own threaded server (bolt's dev server is not for production).

POST /slack/events → bolt (which verifies the signature: forged, stale or unsigned → 401);
GET /healthz (the process answers), /readyz (Slack and Kubernetes answer), /metrics.
In Socket Mode the same server runs `health_only`: the GET endpoints, and 404 for POST.
Registry webhooks (`POST /hooks/NAME`, bot/hooks/route.py) arrive here in both modes. No request
line is logged with its query string: Docker Hub and Quay put the hook's secret there.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt.request import BoltRequest

from bot import app as app_mod
from bot.hooks import route as hook_route
from bot.transport import frames

log = logging.getLogger(__name__)

_QUERY = re.compile(r"\?[^\s\"]*")


def _without_query(value: Any) -> Any:
    return _QUERY.sub("?…", value) if isinstance(value, str) else value


class _Handler(BaseHTTPRequestHandler):
    bot: app_mod.Bot  # set on a per-server subclass
    health_only: bool = False  # Socket Mode: events arrive over the websocket, never here
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *(_without_query(arg) for arg in args))

    def _hook(self, method: str) -> None:
        hooks = self.bot.hooks
        path, _, query = self.path.partition("?")
        if hooks is None:
            self._reply(404, b"not found\n", "text/plain; charset=utf-8")
            return
        reply = hooks.hooks.serve(
            method=method, path=path, query=query, headers=self.headers.items(), body=self.rfile
        )
        if reply.close:
            self.close_connection = True
        headers = dict(reply.headers)
        self._reply(reply.status, reply.body, headers.pop("Content-Type"), headers)

    def _reply(self, status: int, body: bytes, content_type: str, headers: Any = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, values in (headers or {}).items():
            if key.lower() in ("content-length", "content-type"):
                continue
            for value in values if isinstance(values, list) else [values]:
                self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if hook_route.is_hook(path):
            self._hook("GET")
        elif path == "/healthz":
            self._reply(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            ready, reason = self.bot.ready.check()
            self._reply(
                200 if ready else 503, (reason + "\n").encode(), "text/plain; charset=utf-8"
            )
        elif path == "/metrics":
            text = self.bot.services.metrics.render()
            if self.bot.hooks is not None:
                text = text.rstrip("\n") + "\n" + "\n".join(self.bot.hooks.metrics.render()) + "\n"
            self._reply(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._reply(404, b"not found\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        # Jobs wait to start until the requests being answered are (bot/jobs.py, acks first).
        with self.bot.services.runner.answering:
            self._post()

    def _post(self) -> None:
        # On the app's clock, which the ack metric subtracts it from (bot/conversation/slash.py).
        received = self.bot.services.clock.monotonic()
        if hook_route.is_hook(self.path.split("?", 1)[0]):
            self._hook("POST")  # in both modes: Socket Mode's server on PORT serves hooks too
            return
        if self.health_only or self.path.split("?", 1)[0] != frames.EVENTS_PATH:
            self._reply(404, b"not found\n", "text/plain; charset=utf-8")
            return
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit():  # -1 would read to EOF, "abc" would raise in the thread
            self._reply(400, b"bad Content-Length\n", "text/plain; charset=utf-8")
            return
        length = int(declared)
        if length > frames.MAX_BODY:
            self._reply(413, b"too large\n", "text/plain; charset=utf-8")
            return
        grouped: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            grouped.setdefault(key.lower(), []).append(value)
        headers: dict[str, str | Sequence[str]] = dict(grouped)
        try:
            body = self.rfile.read(length).decode("utf-8") if length else ""
            request = BoltRequest(body=body, headers=headers, context={"myctl_received": received})
            if not frames.well_formed(request.body):
                raise ValueError("block_actions without a list of actions")
            response = self.bot.app.dispatch(request)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # A body bolt cannot take apart (not JSON, not an object, fields of the wrong
            # type): refused as a bad request, never a dropped connection. The body is not
            # logged (it may carry anything); its kind of error is.
            log.warning("refused an undecodable Slack request: %s", type(exc).__name__)
            self._reply(400, b"bad request\n", "text/plain; charset=utf-8")
            return
        content_type = list(response.headers.get("content-type", [])) or ["text/plain"]
        self._reply(
            response.status, response.body.encode("utf-8"), str(content_type[0]), response.headers
        )

    def _other(self) -> None:
        # Hooks answer 405 for any other method (docs/triggers.md); the rest does not exist.
        if hook_route.is_hook(self.path.split("?", 1)[0]):
            self._hook(self.command)
        else:
            self._reply(405, b"method not allowed\n", "text/plain; charset=utf-8")

    do_PUT = do_PATCH = do_DELETE = _other


class _Server(ThreadingHTTPServer):
    # Slack delivers bursts (a channel of people, retries): the default listen backlog of 5
    # resets connections and delays others by a TCP retry (~1 s) once 5 are waiting, long
    # before a handler thread is even involved (measured in bench/slack_ack.py).
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops its keep-alive connection (registries do, between notifications)
        # is routine, not a traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("http: connection from %s dropped", client_address[0])
            return
        super().handle_error(request, client_address)


class HttpServer:
    """Serves the bot on `port` (0 = any free port; see `.port`) in a background thread."""

    def __init__(
        self, bot: app_mod.Bot, port: int, host: str = "0.0.0.0", *, health_only: bool = False
    ) -> None:
        handler = type("BotHandler", (_Handler,), {"bot": bot, "health_only": health_only})
        self._server = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HttpServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="myctl-bot-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
