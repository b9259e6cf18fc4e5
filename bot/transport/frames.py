"""What the front process (bot/transport/front.py) and the bot's process agree on.

The front answers Slack's slash commands and button clicks itself, then hands each request over
as a frame on a private socket pair: a 4-byte big-endian length and a JSON object with the
request's headers, its body and how long the front took to ack it. A socket pair cannot be
reached by anyone else, so a frame needs no token: it is a request the front has verified
(docs/architecture.md, "the front process").
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Slack sends small form bodies; anything far larger is not from Slack and is refused unread.
MAX_BODY = 1 << 20
EVENTS_PATH = "/slack/events"
_LENGTH = struct.Struct(">I")
# A frame is one request of at most MAX_BODY plus its headers; more is a broken peer.
MAX_FRAME = MAX_BODY + (64 << 10)


def well_formed(body: Any) -> bool:
    """What bolt's action matchers index without checking (they raise, bolt answers 500): the
    bot's server refuses a block_actions body without it, and the front never acks one."""
    if not isinstance(body, dict) or body.get("type") != "block_actions":
        return True
    actions = body.get("actions")
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    )


@dataclass(frozen=True)
class Frame:
    headers: Mapping[str, Sequence[str]]  # lower-cased names, every value (as bolt takes them)
    body: str
    ack_seconds: float  # from the request's first byte to the front's answer


def encode(frame: Frame) -> bytes:
    data = json.dumps(
        {"headers": frame.headers, "body": frame.body, "ack_seconds": frame.ack_seconds},
        separators=(",", ":"),
    ).encode("utf-8")
    return _LENGTH.pack(len(data)) + data


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read(sock: socket.socket) -> Iterator[Frame]:
    """The frames on `sock` until the peer closes it (a torn or oversized frame ends it too)."""
    while True:
        head = _exactly(sock, _LENGTH.size)
        if head is None:
            return
        (size,) = _LENGTH.unpack(head)
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes")
        data = _exactly(sock, size)
        if data is None:
            return
        raw = json.loads(data)
        yield Frame(
            headers={str(k): [str(v) for v in vs] for k, vs in raw["headers"].items()},
            body=str(raw["body"]),
            ack_seconds=float(raw["ack_seconds"]),
        )
