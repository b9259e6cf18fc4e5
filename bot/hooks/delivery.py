"""Which keys identify a delivery, for de-duplication in the state store.

* GitHub: `X-GitHub-Delivery` (the same on a redelivery), and also the body's hash, because
  the header is not covered by the signature: a captured body replayed under a new delivery id
  must still be recognized.
* Event ids where the registry gives them (distribution's `events[].id`, Harbor's CloudEvent
  `id`): one id, or a hash over all ids of an envelope.
* Otherwise the SHA-256 of the body.

Each key comes with how long it is kept. Quay's push payload has neither an id nor a time, so
two pushes of one tag send identical bodies: its body hash is kept only long enough to catch
retries, or the second push of `latest` on the same day would count as a replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from bot.hooks import push
from commands.values import triggers

# 72 hours: GitHub offers a delivery for redelivery for three days (docs/triggers.md: ≥ 24 h).
KEEP = dt.timedelta(hours=72)
# One hour: registries retry failed notifications within minutes.
KEEP_TIMELESS_BODY = dt.timedelta(hours=1)
_TIMELESS_BODIES = frozenset({triggers.Source.QUAY})


@dataclass(frozen=True)
class Key:
    id: str
    keep: dt.timedelta


def keys(
    source: triggers.Source, headers: Mapping[str, str], parsed: push.Parsed, body: bytes
) -> tuple[Key, ...]:
    """Keys to claim, all of which must be new for the delivery to be new."""
    body_key = "sha256:" + hashlib.sha256(body).hexdigest()
    if source is triggers.Source.GITHUB:
        header = headers.get("x-github-delivery", "").strip()
        found = [Key(f"github:{header}", KEEP)] if header else []
        return (*found, Key(body_key, KEEP))
    ids = sorted(set(parsed.event_ids))
    if len(ids) == 1:
        return (Key(f"event:{ids[0]}", KEEP),)
    if ids:
        joined = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()
        return (Key(f"events:{joined}", KEEP),)
    keep = KEEP_TIMELESS_BODY if source in _TIMELESS_BODIES else KEEP
    return (Key(body_key, keep),)
