"""A local fake of Slack: the Web API, upload and response_url endpoints, and Socket Mode.

Why a fake server and not mocks: the bot talks to Slack through the real ``slack_sdk``
clients, so the end-to-end tests point those clients at this server
(``SLACK_API_URL = emulator.api_url``) and assert on what Slack would have received.
Nothing here reaches slack.com; everything listens on 127.0.0.1 on ports picked by the OS.

The emulator is strict where Slack is strict (Block Kit limits, missing text, unknown
``ts``) and answers Slack's own error codes, so a bug that real Slack would reject fails
the tests. Every such rejection is also recorded in ``violations``, so a test can assert
that a whole scenario stayed within Slack's rules. Scenario errors that a test asks for
(``fail_next``, ``channels_not_joined`` …) are not violations.

Not emulated: message threading semantics, rate-limit tiers (faults are injected
explicitly instead), Events API retries, ``response_url`` expiry after 30 minutes.

``SlackEmulator`` here is the one class tests use: lifecycle, authentication, fault
injection, and the recorder (``calls``, ``violations``, ``wait_for``) that every part shares.
The parts, one job each:

* slack_records.py — the recorded values (``Call``, ``Violation``, ``Message`` …);
* slack_blocks.py — Slack's rules for message bodies (``validate_blocks``, ``SlackError``);
* slack_http.py — the HTTP front that routes requests here;
* slack_web_api.py — the Web API methods and the workspace state they change;
* slack_socket_mode.py — the Socket Mode websocket, envelopes and acks.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import TypeVar

from tests.support import (
    slack_blocks,
    slack_http,
    slack_records,
    slack_socket_mode,
    slack_web_api,
)

# The emulator's public surface: tests and bench/ import these from here.
JSON = slack_records.JSON
Reply = slack_records.Reply
Call = slack_records.Call
Violation = slack_records.Violation
Message = slack_records.Message
UploadedFile = slack_records.UploadedFile
Ack = slack_records.Ack
SlackError = slack_blocks.SlackError
MAX_BLOCKS = slack_blocks.MAX_BLOCKS
validate_blocks = slack_blocks.validate_blocks
validate_message = slack_blocks.validate_message

T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-test-bot"
DEFAULT_APP_TOKEN = "xapp-test-app"


class SlackEmulator:
    """Fake Slack on loopback. Use as a context manager or call start()/stop()."""

    def __init__(
        self, bot_token: str = DEFAULT_BOT_TOKEN, app_token: str = DEFAULT_APP_TOKEN
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # Scenario knobs tests set directly.
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, JSON] = {}
        self.channels_not_joined: set[str] = set()
        self.channels_not_found: set[str] = set()
        self.latency: dict[str, float] = {}

        self._lock = threading.RLock()
        # Notified on every recorded change so wait_for() wakes up at once.
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._violations: list[Violation] = []
        self._faults: dict[str, deque[tuple[str, int]]] = {}
        self._web = slack_web_api.WebApi(self, self._changed, self.record_violation)
        self._socket = slack_socket_mode.SocketModeServer(self._changed, self.record_violation)

        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> SlackEmulator:
        self._http = slack_http.server(self)
        self._socket.start()
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="slack-emulator", daemon=True
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        self._socket.shutdown()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self._socket.join(timeout=5)
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._http is not None, "emulator not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Value for SLACK_API_URL / WebClient(base_url=...): method names are appended."""
        return f"{self.base_url}/api/"

    @property
    def ws_url(self) -> str:
        return self._socket.url

    # ---------------------------------------------------------------- recorder

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def violations(self) -> list[Violation]:
        with self._lock:
            return list(self._violations)

    @property
    def messages(self) -> dict[tuple[str, str], Message]:
        """Snapshot of every posted message by (channel, ts), as last updated."""
        with self._lock:
            return {
                key: replace(
                    m, blocks=list(m.blocks), updated_at=list(m.updated_at), history=list(m.history)
                )
                for key, m in self._web.messages.items()
            }

    def messages_in(self, channel: str) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.channel == channel), key=lambda m: m.ts
        )

    @property
    def ephemerals(self) -> list[JSON]:
        with self._lock:
            return list(self._web.ephemerals)

    @property
    def responses(self) -> list[tuple[str, JSON]]:
        with self._lock:
            return list(self._web.responses)

    @property
    def files(self) -> dict[str, UploadedFile]:
        with self._lock:
            return dict(self._web.files)

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.05
    ) -> T:
        """Poll ``predicate`` until it returns something truthy; return that value.

        Raises TimeoutError at the deadline, so a test never sleeps a fixed time.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s: {predicate!r}")
            # Woken by any recorded change; ``interval`` bounds the wait for predicates
            # that look at state outside the emulator.
            with self._changed:
                self._changed.wait(min(remaining, interval))

    def record_violation(self, violation: Violation) -> None:
        with self._lock:
            self._violations.append(violation)
            self._changed.notify_all()

    def _record(self, method: str, params: JSON, headers: dict[str, str], reply: Reply) -> None:
        status, body, _ = reply
        with self._lock:
            self._calls.append(Call(method, params, headers, time.time(), status, body))
            self._changed.notify_all()

    # ---------------------------------------------------------------- fault injection

    def fail_next(self, method: str, error: str = "not_in_channel", times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``.

        ``method`` may also be ``"response_url"`` or ``"upload_url"``.
        """
        with self._lock:
            self._faults.setdefault(method, deque()).append((error, times))

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer HTTP 429 with ``Retry-After`` to the next ``times`` calls of ``method``."""
        with self._lock:
            self._faults.setdefault(method, deque()).append((f"429:{retry_after}", times))

    def server_error_next(self, method: str, times: int = 1, status: int = 503) -> None:
        """Answer HTTP ``status`` (5xx, an HTML body as a proxy would) to the next calls."""
        with self._lock:
            self._faults.setdefault(method, deque()).append((f"http:{status}", times))

    def _take_fault(self, method: str) -> str | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            error, times = queue[0]
            if times <= 1:
                queue.popleft()
            else:
                queue[0] = (error, times - 1)
            return error

    def _fault_reply(self, method: str) -> Reply | None:
        delay = self.latency.get(method)
        if delay:
            time.sleep(delay)  # injected slowness of Slack itself, not a test wait
        fault = self._take_fault(method)
        if fault is None:
            return None
        if fault.startswith("429:"):
            retry_after = fault.split(":", 1)[1]
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
        if fault.startswith("http:"):
            return int(fault.split(":", 1)[1]), {"ok": False, "error": "fatal_error"}, {}
        return 200, {"ok": False, "error": fault}, {}

    # ---------------------------------------------------------------- dispatch (slack_http)

    def handle_api(self, method: str, params: JSON, headers: dict[str, str]) -> Reply:
        reply = self._dispatch(method, params, headers)
        self._record(method, params, headers, reply)
        return reply

    def _dispatch(self, method: str, params: JSON, headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = (
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else str(params.get("token", ""))
        )
        handler = slack_web_api.METHODS.get(method)
        try:
            if handler is None:
                raise SlackError("unknown_method")
            if token not in (self.bot_token, self.app_token):
                raise SlackError("not_authed" if not token else "invalid_auth")
            app_only = method == "apps.connections.open"
            if (token == self.app_token) != app_only and method != "auth.test":
                raise SlackError("not_allowed_token_type")
            faulted = self._fault_reply(method)
            if faulted is not None:
                return faulted
            return 200, {"ok": True, **handler(self._web, params)}, {}
        except SlackError as err:
            body: JSON = {"ok": False, "error": err.error}
            if err.messages:
                body["errors"] = err.messages
                body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in err.messages]}
            if err.violation:
                with self._lock:
                    self._violations.append(Violation(method, err.error, "; ".join(err.messages)))
            return 200, body, {}

    def handle_upload(self, file_id: str, raw: bytes, headers: dict[str, str]) -> Reply:
        params: JSON = {"file_id": file_id, "size": len(raw)}
        reply = self._fault_reply("upload_url") or self._web.upload(file_id, raw)
        self._record("upload_url", params, headers, reply)
        return reply

    def response_texts(self, url: str) -> list[str]:
        """The texts posted to one response_url (as `new_response_url` gave it), in order."""
        url_id = url.rsplit("/", 1)[1]
        return [str(body.get("text", "")) for uid, body in self.responses if uid == url_id]

    def new_response_url(self) -> str:
        """A response_url as Slack puts in slash-command and interactive payloads."""
        return self._web.new_response_url()

    def handle_response_url(self, url_id: str, raw: bytes, headers: dict[str, str]) -> Reply:
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        reply = self._fault_reply("response_url") or self._web.post_to_response_url(url_id, body)
        self._record("response_url", {"url_id": url_id, **body}, headers, reply)
        return reply

    # ---------------------------------------------------------------- Socket Mode

    @property
    def socket_connects(self) -> int:
        """Websocket connections accepted so far (reconnects included)."""
        return self._socket.connects

    def socket_connection_url(self) -> str:
        """What apps.connections.open answers: a one-time websocket URL."""
        return self._socket.connection_url()

    def socket_connection_count(self) -> int:
        return self._socket.connection_count()

    def socket_send(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        accepts_response_payload: bool,
        wait_connection: float = 10.0,
    ) -> str:
        """Push one envelope to one open connection (round robin, as Slack spreads them)."""
        self.wait_for(self.socket_connection_count, timeout=wait_connection)
        return self._socket.send(
            envelope_type, payload, accepts_response_payload=accepts_response_payload
        )

    def socket_send_slash_command(self, payload: JSON) -> str:
        """Send a slash_commands envelope; fills response_url if the payload lacks one."""
        payload = {**payload}
        payload.setdefault("response_url", self.new_response_url())
        return self.socket_send("slash_commands", payload, accepts_response_payload=True)

    def socket_send_interactive(self, payload: JSON) -> str:
        """Send an interactive envelope; only view submissions accept a response payload."""
        accepts = payload.get("type") == "view_submission"
        return self.socket_send("interactive", payload, accepts_response_payload=accepts)

    @property
    def acks(self) -> dict[str, Ack]:
        return self._socket.acks

    @property
    def socket_messages(self) -> list[JSON]:
        """Every frame clients sent, acks included, decoded."""
        return self._socket.messages

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> float:
        """Wait for the ack of ``envelope_id``; return seconds between send and ack."""
        ack = self.wait_for(lambda: self.acks.get(envelope_id), timeout=timeout)
        assert ack is not None  # wait_for only returns truthy values
        return ack.elapsed

    def socket_drop_connections(self) -> int:
        """Close every open websocket abruptly-but-cleanly (close frame 1001), like a
        Slack edge restart; returns how many were closed. Clients must reconnect."""
        return self._socket.drop_connections()

    def socket_request_refresh(self) -> None:
        """Send Slack's ``disconnect`` / ``refresh_requested`` notice on every connection:
        the graceful path where the client opens a new connection before the old closes."""
        self._socket.request_refresh()
