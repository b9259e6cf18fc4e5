"""Slack's Socket Mode endpoint for the emulator: the websocket the app opens with the URL from
``apps.connections.open``, envelopes pushed to it, and the acks that come back.

Like Slack: a connection needs a valid one-time ticket, starts with a ``hello``, envelopes are
spread round robin over the open connections, the first ack of an envelope counts and later
ones are ignored, and an ack of an unknown envelope is a violation. Edge restarts
(``drop_connections``) and the graceful ``refresh_requested`` notice are on demand.

Part of ``SlackEmulator`` (tests/support/slack_emulator.py), whose lock it shares, so one
``wait_for`` there wakes on Web API calls and socket frames alike.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.support import slack_records

JSON = slack_records.JSON


class SocketModeServer:
    """The websocket side of the emulator. ``lock`` is the emulator's condition: holding it is
    holding the emulator's lock, and every change here notifies it."""

    def __init__(
        self,
        lock: threading.Condition,
        record_violation: Callable[[slack_records.Violation], None],
    ) -> None:
        self._lock = lock
        self._record_violation = record_violation
        self._ws: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._conns: dict[int, ServerConnection] = {}
        self._conn_seq = itertools.count(1)
        self._rr = itertools.count()
        self._envelopes_sent: dict[str, float] = {}
        self._acks: dict[str, slack_records.Ack] = {}
        self._messages: list[JSON] = []
        self.connects = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        # The builtin SocketModeClient never answers a close frame, so a short
        # close_timeout keeps drop_connections() and stop() quick.
        self._ws = serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            close_timeout=1,
            compression=None,
        )
        self._thread = threading.Thread(
            target=self._ws.serve_forever, name="slack-emulator", daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop accepting and close the connections; ``join`` waits for the server thread."""
        if self._ws is not None:
            self._ws.shutdown()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    @property
    def url(self) -> str:
        assert self._ws is not None, "emulator not started"
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link/"

    def connection_url(self) -> str:
        """A fresh one-time URL, as ``apps.connections.open`` returns it."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"{self.url}?ticket={ticket}&app_id={slack_records.APP_ID}"

    # ---------------------------------------------------------------- connections

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            valid = ticket in self._tickets
        if not valid:
            return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _handler(self, conn: ServerConnection) -> None:
        conn_id = next(self._conn_seq)
        with self._lock:
            self._conns[conn_id] = conn
            self.connects += 1
            count = len(self._conns)
            self._lock.notify_all()
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "applink-emulator", "approximate_connection_time": 18060},
            "connection_info": {"app_id": slack_records.APP_ID},
        }
        try:
            conn.send(json.dumps(hello))
            for raw in conn:
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._conns.pop(conn_id, None)
                self._lock.notify_all()

    def _on_message(self, raw: str | bytes) -> None:
        now = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"_raw": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}
        with self._lock:
            self._lock.notify_all()
            self._messages.append(message)
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if envelope_id is None:
                return
            sent = self._envelopes_sent.get(envelope_id)
            if sent is None:
                self._record_violation(
                    slack_records.Violation("socket_ack", "unknown_envelope", envelope_id)
                )
                return
            if envelope_id in self._acks:
                return  # Slack ignores repeated acks; the first one counts.
            payload = message.get("payload")
            self._acks[envelope_id] = slack_records.Ack(
                envelope_id, payload, time.time(), now - sent
            )

    def connection_count(self) -> int:
        with self._lock:
            return len(self._conns)

    # ---------------------------------------------------------------- envelopes and acks

    def send(self, envelope_type: str, payload: JSON, *, accepts_response_payload: bool) -> str:
        """Push one envelope to one open connection (round robin, as Slack spreads them).
        The caller has waited for a connection."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        with self._lock:
            conns = list(self._conns.values())
            conn = conns[next(self._rr) % len(conns)]
            self._envelopes_sent[envelope_id] = time.monotonic()
        conn.send(json.dumps(envelope))
        return envelope_id

    @property
    def acks(self) -> dict[str, slack_records.Ack]:
        with self._lock:
            return dict(self._acks)

    @property
    def messages(self) -> list[JSON]:
        with self._lock:
            return list(self._messages)

    # ---------------------------------------------------------------- edge events

    def drop_connections(self) -> int:
        """Close every open websocket with close frame 1001; return how many were closed."""
        with self._lock:
            conns = list(self._conns.values())
        closers = [threading.Thread(target=c.close, args=(1001, "going away")) for c in conns]
        for t in closers:
            t.start()
        for t in closers:
            t.join(timeout=5)
        return len(conns)

    def request_refresh(self) -> None:
        """Send Slack's ``disconnect`` / ``refresh_requested`` notice on every connection."""
        notice = json.dumps(
            {
                "type": "disconnect",
                "reason": "refresh_requested",
                "debug_info": {"host": "emulator"},
            }
        )
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            with contextlib.suppress(ConnectionClosed):
                conn.send(notice)
