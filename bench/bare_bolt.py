"""A bare bolt app that only acks `/myctl`: the baseline of bench/ack_load.py.

    .venv/bin/python -m bench.bare_bolt PORT SLACK_API_URL

Served the way the bot is served (bot/transport/http.py): a threading HTTP server with a
listen backlog of 128, one BoltRequest per POST, `process_before_response=True` so the listener
runs on the request's thread, and bolt's one `auth.test` (cached after the first request) sent
to the same Slack emulator the bot talks to. What it does not have is everything the bot
adds: parsing, authorization, the audit trail, the job runner, and the jobs themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from tests.support.slack_plugin import BOT_TOKEN, SIGNING_SECRET


def build(api_url: str) -> App:
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,  # no auth.test: nothing but the ack
        process_before_response=True,
    )

    def only_ack(ack: Callable[[], None]) -> None:
        ack()

    app.command("/myctl")(only_ack)
    return app


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # as bot/transport/http.py
    daemon_threads = True


def serve(port: int, api_url: str) -> Server:
    app = build(api_url)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._reply(200, b"ok\n")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            headers: dict[str, str | Sequence[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.lower(), [])
                list_value = headers[key.lower()]
                assert isinstance(list_value, list)
                list_value.append(value)
            response = app.dispatch(BoltRequest(body=body, headers=headers))
            self._reply(response.status, response.body.encode("utf-8"))

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Server(("127.0.0.1", port), Handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    server = serve(int(args[0]), args[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
