"""The emulator's HTTP front: routes ``/api/<method>``, ``/upload/<file_id>`` and
``/response/<id>`` on a loopback ``ThreadingHTTPServer`` to the emulator, and writes its
answers back as JSON.

Decodes parameters the way Slack accepts them (query string, form body or JSON body). An
exception in the emulator answers 500 and is recorded as a violation, so an emulator bug
fails the test instead of hanging the client.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from tests.support import slack_records

JSON = slack_records.JSON
Reply = slack_records.Reply


class Routes(Protocol):
    """The emulator as the HTTP front sees it."""

    def handle_api(self, method: str, params: JSON, headers: dict[str, str]) -> Reply: ...

    def handle_upload(self, file_id: str, raw: bytes, headers: dict[str, str]) -> Reply: ...

    def handle_response_url(self, url_id: str, raw: bytes, headers: dict[str, str]) -> Reply: ...

    def record_violation(self, violation: slack_records.Violation) -> None: ...


def server(routes: Routes) -> ThreadingHTTPServer:
    """A server on a free loopback port, not yet serving (call ``serve_forever``)."""
    handler = type("BoundHandler", (_Handler,), {"routes": routes})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    http.daemon_threads = True
    return http


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method>, /upload/<file_id> and /response/<id> to the emulator."""

    routes: Routes  # set on a per-emulator subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging; calls are recorded instead."""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        parts = split.path.strip("/").split("/", 1)
        name = parts[1] if len(parts) > 1 else ""
        try:
            status, body, extra = self._dispatch(parts[0], name, split.query, raw, headers)
        except Exception as exc:  # an emulator bug must fail the test, not hang the client
            self.routes.record_violation(
                slack_records.Violation(self.path, "emulator_error", repr(exc))
            )
            status, body, extra = 500, {"ok": False, "error": "emulator_error"}, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(
        self, kind: str, name: str, query: str, raw: bytes, headers: dict[str, str]
    ) -> Reply:
        if kind == "api":
            try:
                params = _parse_params(query, raw, self.headers.get("Content-Type", ""))
            except ValueError:
                self.routes.record_violation(slack_records.Violation(name, "invalid_json"))
                return 200, {"ok": False, "error": "invalid_json"}, {}
            return self.routes.handle_api(name, params, headers)
        if kind == "upload":
            return self.routes.handle_upload(name, raw, headers)
        if kind == "response":
            return self.routes.handle_response_url(name, raw, headers)
        return 404, {"ok": False, "error": "not_found"}, {}


def _parse_params(query: str, raw: bytes, content_type: str) -> JSON:
    params: JSON = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if not raw:
        return params
    if "json" in content_type:
        body = json.loads(raw.decode("utf-8"))
        if isinstance(body, dict):
            params.update(body)
    else:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    return params
