"""Plays Slack's side of the HTTP transport: signed slash commands and button clicks.

Why signing for real: the app must verify ``X-Slack-Signature`` like it would in
production, so tests send bodies signed exactly as Slack signs them (v0 HMAC-SHA256 of
``v0:{timestamp}:{body}``) and can forge every way a request may be wrong.

The payload builders are plain functions so the same dicts can be pushed over Socket
Mode (``SlackEmulator.socket_send_slash_command`` / ``socket_send_interactive``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlencode

import requests

JSON = dict[str, Any]

DEFAULT_TEAM_ID = "T1"
DEFAULT_APP_ID = "A_MYCTL"
# Slack refuses (and apps must refuse) requests more than five minutes old.
STALE_AFTER_SECONDS = 5 * 60
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class Forgery(enum.Enum):
    """Ways a request can fail Slack's request verification."""

    NONE = "none"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    MISSING_HEADERS = "missing_headers"


class DriverResponse(NamedTuple):
    """What the app answered and how long it took (the 3-second ack budget)."""

    status_code: int
    body: str
    elapsed_seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def sign(signing_secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature for ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    signing_secret: str, body: str, forgery: Forgery = Forgery.NONE, now: float | None = None
) -> dict[str, str]:
    """Headers Slack sends with ``body``, optionally forged."""
    moment = time.time() if now is None else now
    if forgery is Forgery.STALE_TIMESTAMP:
        moment -= STALE_AFTER_SECONDS + 60
    timestamp = str(int(moment))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": SLACK_USER_AGENT,
    }
    if forgery is Forgery.MISSING_HEADERS:
        return headers
    signature = sign(signing_secret, timestamp, body)
    if forgery is Forgery.BAD_SIGNATURE:
        signature = sign(signing_secret + "-wrong", timestamp, body)
    headers["X-Slack-Request-Timestamp"] = timestamp
    headers["X-Slack-Signature"] = signature
    return headers


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U_REQ",
    user_name: str = "requester",
    channel_id: str = "C_OPS",
    channel_name: str = "ops",
    team_id: str = DEFAULT_TEAM_ID,
    command: str = "/myctl",
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields Slack sends for a slash command (form fields over HTTP, payload over
    Socket Mode). ``response_url`` should come from ``SlackEmulator.new_response_url()``."""
    payload = {
        "token": "verification-token-unused",
        "team_id": team_id,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": DEFAULT_APP_ID,
        "is_enterprise_install": "false",
        "trigger_id": trigger_id or _trigger_id(),
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U_APPROVER",
    user_name: str = "approver",
    channel_id: str = "C_OPS",
    message_ts: str = "1700000000.000100",
    message: JSON | None = None,
    block_id: str = "actions",
    button_text: str = "",
    response_url: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
) -> JSON:
    """A ``block_actions`` payload for one button click, shaped like Slack's."""
    action_ts = f"{time.time():.6f}"
    payload: JSON = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": DEFAULT_APP_ID,
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "ops"},
        "message": message
        or {"type": "message", "ts": message_ts, "text": "", "user": "U_BOT", "bot_id": "B_BOT"},
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text or action_id, "emoji": True},
                "value": value,
                "action_ts": action_ts,
            }
        ],
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def _elements(blocks: list[JSON]) -> Iterator[tuple[str, JSON]]:
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        for el in block.get("elements", []) or []:
            if isinstance(el, dict):
                yield block_id, el
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            yield block_id, accessory


def find_button(blocks: list[JSON], action_id: str) -> tuple[str, JSON]:
    """Return (block_id, button element) for ``action_id``; AssertionError if absent."""
    for block_id, el in _elements(blocks):
        if el.get("type") == "button" and el.get("action_id") == action_id:
            return block_id, el
    found = [el.get("action_id") for _, el in _elements(blocks)]
    raise AssertionError(f"no button {action_id!r} in message; buttons: {found}")


def click_payload(
    *,
    channel: str,
    ts: str,
    text: str,
    blocks: list[JSON],
    action_id: str,
    user_id: str,
    response_url: str | None = None,
) -> JSON:
    """Clicking a button of a message the bot posted (e.g. ``emulator.messages[key]``):
    the value and block_id come from the message itself, as they would in Slack."""
    block_id, button = find_button(blocks, action_id)
    message = {
        "type": "message",
        "ts": ts,
        "text": text,
        "blocks": blocks,
        "user": "U_BOT",
        "bot_id": "B_BOT",
    }
    return block_actions_payload(
        action_id,
        str(button.get("value", "")),
        user_id=user_id,
        channel_id=channel,
        message_ts=ts,
        message=message,
        block_id=block_id,
        button_text=str(button.get("text", {}).get("text", "")),
        response_url=response_url,
    )


class SlackDriver:
    """Sends signed Slack requests to the app's HTTP endpoint (e.g. .../slack/events)."""

    def __init__(self, app_url: str, signing_secret: str, *, timeout: float = 10.0) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def post_form(self, fields: dict[str, str], forgery: Forgery = Forgery.NONE) -> DriverResponse:
        """Form-encode ``fields``, sign the exact bytes sent, POST, and time the answer."""
        body = urlencode(fields)
        headers = signed_headers(self.signing_secret, body, forgery)
        started = time.perf_counter()
        resp = self._session.post(
            self.app_url, data=body.encode(), headers=headers, timeout=self.timeout
        )
        elapsed = time.perf_counter() - started
        return DriverResponse(resp.status_code, resp.text, elapsed)

    def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U_REQ",
        user_name: str = "requester",
        channel_id: str = "C_OPS",
        channel_name: str = "ops",
        team_id: str = DEFAULT_TEAM_ID,
        command: str = "/myctl",
        response_url: str | None = None,
        trigger_id: str | None = None,
        forgery: Forgery = Forgery.NONE,
    ) -> DriverResponse:
        """Run ``/myctl <text>`` as ``user_id`` in ``channel_id``."""
        fields = slash_command_payload(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            team_id=team_id,
            command=command,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        return self.post_form(fields, forgery)

    def interactive(self, payload: JSON, forgery: Forgery = Forgery.NONE) -> DriverResponse:
        """Send an interactivity payload (``payload=<json>`` form field, as Slack does)."""
        return self.post_form({"payload": json.dumps(payload)}, forgery)

    def click(self, forgery: Forgery = Forgery.NONE, **kwargs: Any) -> DriverResponse:
        """Shortcut for ``interactive(click_payload(**kwargs))``."""
        return self.interactive(click_payload(**kwargs), forgery)

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
