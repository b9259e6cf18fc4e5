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

This module does two things (Web API and Socket Mode) and is longer than the usual
400-line budget; it is kept whole because both halves share the recorder and the fault
injection, and tests import one class.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-test-bot"
DEFAULT_APP_TOKEN = "xapp-test-app"
BOT_USER_ID = "U_BOT"
BOT_ID = "B_BOT"
TEAM_ID = "T1"
APP_ID = "A_MYCTL"

# Limits from Slack's Block Kit and chat.postMessage reference pages.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID_LENGTH = 255
MAX_MESSAGE_TEXT = 40000
# Slack accepts at most five posts to one response_url.
MAX_RESPONSE_URL_USES = 5

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file"}
)


@dataclass(frozen=True)
class Call:
    """One request the emulator received, as Slack would have seen it.

    ``method`` is the Web API method name, or the pseudo methods ``upload_url`` and
    ``response_url`` for the two non-API endpoints.
    """

    method: str
    params: JSON
    headers: dict[str, str]
    timestamp: float
    status: int = 200
    response: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass(frozen=True)
class Violation:
    """A request real Slack would have rejected because the caller broke its rules."""

    method: str
    error: str
    detail: str = ""


@dataclass
class Message:
    """Current state of one posted message; chat.update rewrites it in place."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON]
    attachments: list[JSON]
    thread_ts: str | None
    posted_at: float
    updated_at: list[float] = field(default_factory=list)
    history: list[JSON] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return len(self.updated_at)

    def all_text(self) -> str:
        """Text plus every text field found in the blocks, for substring assertions."""
        parts = [self.text]
        parts.extend(_texts_in(self.blocks))
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class Ack:
    """A Socket Mode acknowledgement and how long after the envelope was sent it came."""

    envelope_id: str
    payload: JSON | None
    received_at: float
    elapsed: float


class SlackError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *, violation: bool = True, messages: list[str] | None = None):
        super().__init__(error)
        self.error = error
        self.violation = violation
        self.messages = messages or []


def _texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            yield value["text"]
        for key, item in value.items():
            if key != "text" or not isinstance(item, str):
                yield from _texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts_in(item)


# --------------------------------------------------------------------------- validation


def _check_text_object(obj: Any, pointer: str, limit: int, errors: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must provide a text object [json-pointer:{pointer}]")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


def _check_button(el: JSON, pointer: str, errors: list[str]) -> None:
    _check_text_object(el.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, errors)
    if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
        errors.append(
            f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{pointer}/value]"
        )
    confirm = el.get("confirm")
    if confirm is not None:
        for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
            if key in confirm or key in ("title", "text"):
                _check_text_object(confirm.get(key), f"{pointer}/confirm/{key}", limit, errors)


def validate_blocks(blocks: Any, max_blocks: int = MAX_BLOCKS) -> list[str]:
    """Return Slack-style error strings for everything in ``blocks`` Slack would refuse."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCK_TYPES:
            errors.append(f"invalid additional property: type [json-pointer:{ptr}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > MAX_ID_LENGTH or block_id in seen_ids:
                errors.append(f"invalid or duplicate block_id [json-pointer:{ptr}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{ptr}]")
            if "text" in block:
                _check_text_object(block["text"], f"{ptr}/text", MAX_SECTION_TEXT, errors)
            fields = block.get("fields", [])
            if len(fields) > MAX_SECTION_FIELDS:
                errors.append(
                    f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{ptr}/fields]"
                )
            for j, f in enumerate(fields):
                _check_text_object(f, f"{ptr}/fields/{j}", MAX_FIELD_TEXT, errors)
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                _check_button(accessory, f"{ptr}/accessory", errors)
        elif kind == "header":
            _check_text_object(block.get("text"), f"{ptr}/text", MAX_HEADER_TEXT, errors)
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                errors.append(
                    f"must have 1 to {MAX_CONTEXT_ELEMENTS} items [json-pointer:{ptr}/elements]"
                )
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
                errors.append(
                    f"must have 1 to {MAX_ACTIONS_ELEMENTS} items [json-pointer:{ptr}/elements]"
                )
            for j, el in enumerate(elements):
                if not isinstance(el, dict):
                    errors.append(f"must be an object [json-pointer:{ptr}/elements/{j}]")
                    continue
                if len(str(el.get("action_id", ""))) > MAX_ID_LENGTH:
                    errors.append(f"too long [json-pointer:{ptr}/elements/{j}/action_id]")
                if el.get("type") == "button":
                    _check_button(el, f"{ptr}/elements/{j}", errors)
    return errors


def _decode_json_field(params: JSON, name: str) -> Any:
    """Form-encoded calls carry blocks/attachments as JSON strings; JSON calls as lists."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value) if value else []
        except ValueError as exc:
            raise SlackError("invalid_blocks" if name == "blocks" else "invalid_arguments") from exc
    return value


def validate_message(
    params: JSON, *, require_content: bool = True
) -> tuple[str, list[JSON], list[JSON]]:
    """Check a message body as chat.postMessage/update and response_url do.

    Returns (text, blocks, attachments) decoded; raises SlackError like Slack would.
    """
    text = params.get("text")
    text = "" if text is None else str(text)
    blocks = _decode_json_field(params, "blocks") or []
    attachments = _decode_json_field(params, "attachments") or []
    if require_content and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    errors = validate_blocks(blocks)
    if errors:
        raise SlackError("invalid_blocks", messages=errors)
    return text, blocks, attachments


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method>, /upload/<file_id> and /response/<id> to the emulator."""

    emulator: SlackEmulator  # set on a per-emulator subclass
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
            self.emulator._record_violation(Violation(self.path, "emulator_error", repr(exc)))
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
    ) -> tuple[int, JSON, dict[str, str]]:
        if kind == "api":
            try:
                params = _parse_params(query, raw, self.headers.get("Content-Type", ""))
            except ValueError:
                self.emulator._record_violation(Violation(name, "invalid_json"))
                return 200, {"ok": False, "error": "invalid_json"}, {}
            return self.emulator._handle_api(name, params, headers)
        if kind == "upload":
            return self.emulator._handle_upload(name, raw, headers)
        if kind == "response":
            return self.emulator._handle_response_url(name, raw, headers)
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


# --------------------------------------------------------------------------- the emulator

Reply = tuple[int, JSON, dict[str, str]]


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
        self._messages: dict[tuple[str, str], Message] = {}
        self._ephemerals: list[JSON] = []
        self._responses: list[tuple[str, JSON]] = []
        self._response_urls: dict[str, int] = {}
        self._files: dict[str, UploadedFile] = {}
        self._dms: dict[str, str] = {}
        self._faults: dict[str, deque[tuple[str, int]]] = {}
        self._ts_seq = itertools.count(1)

        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._ws: Server | None = None
        self._tickets: set[str] = set()
        self._conns: dict[int, ServerConnection] = {}
        self._conn_seq = itertools.count(1)
        self._rr = itertools.count()
        self._envelopes_sent: dict[str, float] = {}
        self._acks: dict[str, Ack] = {}
        self._socket_messages: list[JSON] = []
        self.socket_connects = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> SlackEmulator:
        handler = type("BoundHandler", (_Handler,), {"emulator": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        # The builtin SocketModeClient never answers a close frame, so a short
        # close_timeout keeps socket_drop_connections() and stop() quick.
        self._ws = serve(
            self._ws_handler,
            "127.0.0.1",
            0,
            process_request=self._ws_process_request,
            close_timeout=1,
            compression=None,
        )
        for target in (self._http.serve_forever, self._ws.serve_forever):
            thread = threading.Thread(target=target, name="slack-emulator", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

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
        assert self._ws is not None, "emulator not started"
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link/"

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
                for key, m in self._messages.items()
            }

    def messages_in(self, channel: str) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.channel == channel), key=lambda m: m.ts
        )

    @property
    def ephemerals(self) -> list[JSON]:
        with self._lock:
            return list(self._ephemerals)

    @property
    def responses(self) -> list[tuple[str, JSON]]:
        with self._lock:
            return list(self._responses)

    @property
    def files(self) -> dict[str, UploadedFile]:
        with self._lock:
            return dict(self._files)

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
        return 200, {"ok": False, "error": fault}, {}

    # ---------------------------------------------------------------- dispatch

    def _record(self, method: str, params: JSON, headers: dict[str, str], reply: Reply) -> None:
        status, body, _ = reply
        with self._lock:
            self._calls.append(Call(method, params, headers, time.time(), status, body))
            self._changed.notify_all()

    def _record_violation(self, violation: Violation) -> None:
        with self._lock:
            self._violations.append(violation)
            self._changed.notify_all()

    def _handle_api(self, method: str, params: JSON, headers: dict[str, str]) -> Reply:
        reply = self._dispatch(method, params, headers)
        self._record(method, params, headers, reply)
        return reply

    def _dispatch(self, method: str, params: JSON, headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = (
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else str(params.get("token", ""))
        )
        handler = _METHODS.get(method)
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
            return 200, {"ok": True, **handler(self, params)}, {}
        except SlackError as err:
            body: JSON = {"ok": False, "error": err.error}
            if err.messages:
                body["errors"] = err.messages
                body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in err.messages]}
            if err.violation:
                with self._lock:
                    self._violations.append(Violation(method, err.error, "; ".join(err.messages)))
            return 200, body, {}

    # ---------------------------------------------------------------- Web API methods

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts_seq):06d}"

    def _resolve_channel(self, params: JSON, key: str = "channel") -> str:
        channel = str(params.get(key) or "")
        if not channel:
            raise SlackError("channel_not_found")
        if channel in self.channels_not_found:
            raise SlackError("channel_not_found", violation=False)
        if channel in self.channels_not_joined:
            raise SlackError("not_in_channel", violation=False)
        if channel[0] in "UW":  # posting to a user ID lands in the DM with them
            channel = self._dm_for(channel)
        return channel

    def _dm_for(self, user: str) -> str:
        with self._lock:
            return self._dms.setdefault(user, f"D{len(self._dms) + 1:08d}")

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "myctl",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message_json(self, m: Message) -> JSON:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": m.text,
            "blocks": m.blocks,
            "ts": m.ts,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params)
        text, blocks, attachments = validate_message(params)
        thread_ts = params.get("thread_ts") or None
        ts = self._new_ts()
        m = Message(channel, ts, text, blocks, attachments, thread_ts, time.time())
        with self._lock:
            self._messages[(channel, ts)] = m
        return {"channel": channel, "ts": ts, "message": self._message_json(m)}

    def _chat_update(self, params: JSON) -> JSON:
        channel = str(params.get("channel") or "")
        if not channel:
            raise SlackError("channel_not_found")
        ts = str(params.get("ts") or "")
        with self._lock:
            m = self._messages.get((channel, ts))
        if m is None:
            raise SlackError("message_not_found")
        text, blocks, attachments = validate_message(params)
        with self._lock:
            m.history.append({"text": m.text, "blocks": m.blocks})
            # Slack keeps the old blocks when an update only sends text, and vice versa.
            if "text" in params:
                m.text = text
            if "blocks" in params:
                m.blocks = blocks
            if "attachments" in params:
                m.attachments = attachments
            m.updated_at.append(time.time())
        return {"channel": channel, "ts": ts, "text": m.text, "message": self._message_json(m)}

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params)
        user = str(params.get("user") or "")
        if not user:
            raise SlackError("user_not_in_channel")
        text, blocks, _ = validate_message(params)
        ts = self._new_ts()
        with self._lock:
            self._ephemerals.append(
                {"channel": channel, "user": user, "text": text, "blocks": blocks, "ts": ts}
            )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: JSON) -> JSON:
        channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
        with self._lock:
            known = (channel, ts) in self._messages
        if not known:
            raise SlackError("message_not_found")
        link = f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _conversations_open(self, params: JSON) -> JSON:
        if params.get("channel"):
            return {"channel": {"id": params["channel"]}}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        channel_id = self._dm_for(users[0]) if len(users) == 1 else f"G{'_'.join(sorted(users))}"
        return {"channel": {"id": channel_id, "is_im": len(users) == 1}}

    def _users_info(self, params: JSON) -> JSON:
        user = str(params.get("user") or "")
        if user in self.users:
            return {"user": self.users[user]}
        if not user or user[0] not in "UW":
            raise SlackError("user_not_found", violation=False)
        name = user.lower()
        profile = {"real_name": f"User {user}", "display_name": name}
        return {
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": profile["real_name"],
                "deleted": False,
                "is_bot": False,
                "tz": "UTC",
                "profile": profile,
            }
        }

    def _usergroups_users_list(self, params: JSON) -> JSON:
        group = str(params.get("usergroup") or "")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam", violation=False)
        return {"users": list(self.usergroups[group])}

    def _files_get_upload_url(self, params: JSON) -> JSON:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length") or 0)
        except ValueError as exc:
            raise SlackError("invalid_arguments") from exc
        if not filename or length <= 0:
            raise SlackError("invalid_arguments")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        with self._lock:
            self._files[file_id] = UploadedFile(file_id, filename, length)
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: JSON) -> JSON:
        entries = _decode_json_field(params, "files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        channel = None
        if params.get("channel_id"):
            channel = self._resolve_channel(params, "channel_id")
        done = []
        with self._lock:
            for entry in entries:
                f = self._files.get(str(entry.get("id")))
                if f is None or f.content is None:
                    raise SlackError("file_not_found")
                f = replace(
                    f,
                    title=entry.get("title") or f.filename,
                    channel_id=channel,
                    initial_comment=params.get("initial_comment"),
                    thread_ts=params.get("thread_ts"),
                    completed=True,
                )
                self._files[f.id] = f
                done.append({"id": f.id, "name": f.filename, "title": f.title, "size": f.length})
        return {"files": done}

    def _apps_connections_open(self, params: JSON) -> JSON:
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return {"url": f"{self.ws_url}?ticket={ticket}&app_id={APP_ID}"}

    # ---------------------------------------------------------------- upload & response_url

    def _handle_upload(self, file_id: str, raw: bytes, headers: dict[str, str]) -> Reply:
        params: JSON = {"file_id": file_id, "size": len(raw)}
        reply = self._fault_reply("upload_url")
        if reply is None:
            with self._lock:
                f = self._files.get(file_id)
                if f is None:
                    reply = 404, {"ok": False, "error": "file_not_found"}, {}
                else:
                    if len(raw) != f.length:
                        self._violations.append(
                            Violation("upload_url", "length_mismatch", f"{len(raw)} != {f.length}")
                        )
                    self._files[file_id] = replace(f, content=raw)
                    reply = 200, {"ok": True}, {}
        self._record("upload_url", params, headers, reply)
        return reply

    def new_response_url(self) -> str:
        """A response_url as Slack puts in slash-command and interactive payloads."""
        url_id = uuid.uuid4().hex
        with self._lock:
            self._response_urls[url_id] = 0
        return f"{self.base_url}/response/{url_id}"

    def _handle_response_url(self, url_id: str, raw: bytes, headers: dict[str, str]) -> Reply:
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        reply = self._fault_reply("response_url") or self._response_url_reply(url_id, body)
        if reply[0] == 200 and reply[1].get("ok"):
            with self._lock:
                self._responses.append((url_id, body))
        self._record("response_url", {"url_id": url_id, **body}, headers, reply)
        return reply

    def _response_url_reply(self, url_id: str, body: Any) -> Reply:
        with self._lock:
            uses = self._response_urls.get(url_id)
            error, status = None, 200
            if uses is None:
                error, status = "no_service", 404
            elif uses >= MAX_RESPONSE_URL_USES:
                error, status = "used_url", 404
            elif not isinstance(body, dict) or "_raw" in body:
                error, status = "invalid_payload", 400
            else:
                try:
                    validate_message(body, require_content=not body.get("delete_original"))
                except SlackError as err:
                    error, status = err.error, 400
            if error is None:
                # Only accepted posts use up the URL.
                self._response_urls[url_id] = (uses or 0) + 1
                return 200, {"ok": True}, {}
            self._violations.append(Violation("response_url", error))
            return status, {"ok": False, "error": error}, {}

    # ---------------------------------------------------------------- Socket Mode

    def _ws_process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            valid = ticket in self._tickets
        if not valid:
            return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _ws_handler(self, conn: ServerConnection) -> None:
        conn_id = next(self._conn_seq)
        with self._lock:
            self._conns[conn_id] = conn
            self.socket_connects += 1
            count = len(self._conns)
            self._changed.notify_all()
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "applink-emulator", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        try:
            conn.send(json.dumps(hello))
            for raw in conn:
                self._on_socket_message(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._conns.pop(conn_id, None)
                self._changed.notify_all()

    def _on_socket_message(self, raw: str | bytes) -> None:
        now = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"_raw": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}
        with self._lock:
            self._changed.notify_all()
            self._socket_messages.append(message)
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if envelope_id is None:
                return
            sent = self._envelopes_sent.get(envelope_id)
            if sent is None:
                self._violations.append(Violation("socket_ack", "unknown_envelope", envelope_id))
                return
            if envelope_id in self._acks:
                return  # Slack ignores repeated acks; the first one counts.
            payload = message.get("payload")
            self._acks[envelope_id] = Ack(envelope_id, payload, time.time(), now - sent)

    def socket_connection_count(self) -> int:
        with self._lock:
            return len(self._conns)

    def socket_send(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        accepts_response_payload: bool,
        wait_connection: float = 10.0,
    ) -> str:
        """Push one envelope to one open connection (round robin, as Slack spreads them)."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        self.wait_for(self.socket_connection_count, timeout=wait_connection)
        with self._lock:
            conns = list(self._conns.values())
            conn = conns[next(self._rr) % len(conns)]
            self._envelopes_sent[envelope_id] = time.monotonic()
        conn.send(json.dumps(envelope))
        return envelope_id

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
        with self._lock:
            return dict(self._acks)

    @property
    def socket_messages(self) -> list[JSON]:
        """Every frame clients sent, acks included, decoded."""
        with self._lock:
            return list(self._socket_messages)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> float:
        """Wait for the ack of ``envelope_id``; return seconds between send and ack."""
        ack = self.wait_for(lambda: self.acks.get(envelope_id), timeout=timeout)
        assert ack is not None  # wait_for only returns truthy values
        return ack.elapsed

    def socket_drop_connections(self) -> int:
        """Close every open websocket abruptly-but-cleanly (close frame 1001), like a
        Slack edge restart; returns how many were closed. Clients must reconnect."""
        with self._lock:
            conns = list(self._conns.values())
        closers = [threading.Thread(target=c.close, args=(1001, "going away")) for c in conns]
        for t in closers:
            t.start()
        for t in closers:
            t.join(timeout=5)
        return len(conns)

    def socket_request_refresh(self) -> None:
        """Send Slack's ``disconnect`` / ``refresh_requested`` notice on every connection:
        the graceful path where the client opens a new connection before the old closes."""
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


_METHODS: dict[str, Callable[[SlackEmulator, JSON], JSON]] = {
    "auth.test": SlackEmulator._auth_test,
    "chat.postMessage": SlackEmulator._chat_post_message,
    "chat.update": SlackEmulator._chat_update,
    "chat.postEphemeral": SlackEmulator._chat_post_ephemeral,
    "chat.getPermalink": SlackEmulator._chat_get_permalink,
    "conversations.open": SlackEmulator._conversations_open,
    "users.info": SlackEmulator._users_info,
    "usergroups.users.list": SlackEmulator._usergroups_users_list,
    "files.getUploadURLExternal": SlackEmulator._files_get_upload_url,
    "files.completeUploadExternal": SlackEmulator._files_complete_upload,
    "apps.connections.open": SlackEmulator._apps_connections_open,
}
