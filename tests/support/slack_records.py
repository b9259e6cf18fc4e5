"""What the Slack emulator knows and records: who the emulated workspace and app are, the
requests it received, the rules callers broke, and the messages, files and acks they produced.

Plain values, shared by the emulator's parts (tests/support/slack_emulator.py, slack_web_api.py,
slack_socket_mode.py) and read by tests through the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
# An HTTP answer of the emulator: status, JSON body, extra headers (Retry-After).
Reply = tuple[int, JSON, dict[str, str]]

# The emulated workspace and app; slack_driver.py builds payloads with the same team and app.
BOT_USER_ID = "U_BOT"
BOT_ID = "B_BOT"
TEAM_ID = "T1"
APP_ID = "A_MYCTL"


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
        parts.extend(texts_in(self.blocks))
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


def texts_in(value: Any) -> Iterator[str]:
    """Every string under a ``text`` key, depth first (blocks, fields, elements …)."""
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            yield value["text"]
        for key, item in value.items():
            if key != "text" or not isinstance(item, str):
                yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)
