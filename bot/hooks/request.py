"""The HTTP parts of a hook request that need no framework: headers, body limit, media type."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Protocol

# 1 MiB. The largest documented payload (GitHub's package event, with its repository and
# sender objects) is a few tens of KiB; nothing legitimate comes near this.
MAX_BODY_BYTES = 1024 * 1024


class Body(Protocol):
    """What the transport hands over: `bytes`, or a stream that ends where the body ends."""

    def read(self, size: int = -1, /) -> bytes: ...


class TooLarge(Exception):
    pass


class BadLength(Exception):
    pass


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased (HTTP names are case-insensitive); the first of repeats wins."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lowered: dict[str, str] = {}
    for name, value in pairs:
        lowered.setdefault(name.lower(), value)
    return lowered


def check_length(headers: Mapping[str, str]) -> int | None:
    """The declared body length, refusing a too large one before a byte of it is read."""
    raw = headers.get("content-length")
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit():
        raise BadLength()
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise TooLarge()
    return length


def read_body(body: bytes | Body, length: int | None) -> bytes:
    """At most MAX_BODY_BYTES of the body; TooLarge if there is more."""
    stream: Body = io.BytesIO(body) if isinstance(body, bytes) else body
    # With a declared length read exactly that (a keep-alive connection has no EOF after the
    # body); without one, one byte past the limit tells "too large" from "exactly the limit".
    data = stream.read(length if length is not None else MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise TooLarge()
    return data


def is_json(content_type: str | None) -> bool:
    """`application/json`, or any `application/…+json` (distribution's events, CloudEvents)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
