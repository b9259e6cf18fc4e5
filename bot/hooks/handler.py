"""One hook request in, one response decision out. Framework-free: any transport calls `handle`.

In this order, each step only if the one before let the request through:

    405 not POST · 413 Content-Length over 1 MiB (before reading) · 415 not JSON
    · read at most 1 MiB (413 if more) · 401 bad or missing credential (nothing parsed)
    · 400 `invalid` payload · 202 `ignored` (nothing to act on, or outside images/tags)
    · 503 + Retry-After runner full · 200 `duplicate` (delivery seen before)
    · 429 + Retry-After every push over the trigger's rate limit · 202 `accepted`

The runner check comes before the de-duplication claim: a 503 makes the registry retry, and the
retry must not be taken for a replay. Accepted pushes go to the coalescer, which starts the runs
later (bot/hooks/coalesce.py). The response names the outcome and never echoes a credential.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.hooks import auth, coalesce, delivery, policy, push, ratelimit, request, sources
from commands.values import errors, triggers

# Seconds a registry is asked to wait when the runner is full: about one short run.
BUSY_RETRY_AFTER_SECONDS = 10
_JSON = (("Content-Type", "application/json"),)


class Result(enum.Enum):
    """The `result` label of bot/hooks/metrics.py, one per response."""

    ACCEPTED = "accepted"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    INVALID = "invalid"
    BUSY = "busy"


@dataclass(frozen=True)
class Submitted:
    push: push.Push
    outcome: coalesce.Outcome


@dataclass(frozen=True)
class Response:
    status: int
    result: Result
    reason: str = ""  # one line for the registry's delivery log and the audit trail
    headers: tuple[tuple[str, str], ...] = _JSON
    submitted: tuple[Submitted, ...] = ()  # accepted pushes and what the coalescer did
    ignored: tuple[str, ...] = ()  # why the rest is not acted on
    delivery_keys: tuple[str, ...] = ()

    @property
    def pushes(self) -> tuple[push.Push, ...]:
        return tuple(item.push for item in self.submitted)

    def body(self) -> bytes:
        document: dict[str, Any] = {"result": self.result.value}
        if self.reason:
            document["reason"] = self.reason
        if self.submitted:
            document["pushes"] = [
                {"image": item.push.reference, "outcome": item.outcome.value}
                for item in self.submitted
            ]
        if self.ignored:
            document["ignored"] = list(self.ignored)
        return json.dumps(document, sort_keys=True).encode("utf-8")

    def audit_details(self, trigger: triggers.Trigger) -> dict[str, Any]:
        """For `StateStore.record_event("hook.delivery", ...)`: what happened, no credential."""
        return {
            "trigger": trigger.name,
            "source": trigger.source.value,
            "status": self.status,
            "result": self.result.value,
            "reason": self.reason,
            "pushes": [
                {"image": item.push.reference, "outcome": item.outcome.value}
                for item in self.submitted
            ],
            "ignored": list(self.ignored),
            "delivery": list(self.delivery_keys),
        }


def _yes() -> bool:
    return True


@dataclass(frozen=True)
class Services:
    """What `handle` needs from the running bot, as plain callables and values."""

    # (trigger name, delivery key, how long it counts) → True if seen for the first time.
    # Production: commands.state.deliveries.claim_delivery on the shared state store.
    claim_delivery: Callable[[str, str, dt.timedelta], bool]
    coalescer: coalesce.Coalescer
    limiter: ratelimit.RateLimiter
    # False when the job runner cannot take more work: the registry is told to retry.
    has_room: Callable[[], bool] = field(default=_yes)


def handle(
    trigger: triggers.Trigger,
    secret: str,
    *,
    method: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    query: str,
    body: bytes | request.Body,
    content_type: str | None = None,
    services: Services,
) -> Response:
    """Decide the response to one `POST /hooks/NAME`; never raises for anything a caller sends.

    `query` is the raw query string; `content_type` defaults to the Content-Type header.
    """
    if method.upper() != "POST":
        return Response(405, Result.INVALID, "only POST", headers=(*_JSON, ("Allow", "POST")))
    lowered = request.lower_headers(headers)
    try:
        length = request.check_length(lowered)
    except request.TooLarge:
        return Response(413, Result.INVALID, "body over 1 MiB")
    except request.BadLength:
        return Response(400, Result.INVALID, "bad Content-Length")
    if not request.is_json(
        content_type if content_type is not None else lowered.get("content-type")
    ):
        return Response(415, Result.INVALID, "expected a JSON body")
    try:
        raw = request.read_body(body, length)
    except request.TooLarge:
        return Response(413, Result.INVALID, "body over 1 MiB")
    if not auth.verify(trigger.source, secret, headers=lowered, query=query, body=raw):
        return Response(401, Result.UNAUTHORIZED)
    try:
        parsed = sources.parse(trigger, lowered, raw)
    except push.InvalidPayload as exc:
        return Response(400, Result.INVALID, str(exc))
    verdict = policy.evaluate(trigger, parsed.pushes)
    ignored = (*parsed.skipped, *(item.reason for item in verdict.ignored))
    if not verdict.accepted:
        return Response(202, Result.IGNORED, "nothing to roll out", ignored=ignored)
    if not services.has_room():
        return _busy("the job runner is full", ignored)
    keys = delivery.keys(trigger.source, lowered, parsed, raw)
    key_ids = tuple(key.id for key in keys)
    try:
        # Every key is claimed (no short cut): each must be remembered for the next replay.
        claims = [services.claim_delivery(trigger.name, key.id, key.keep) for key in keys]
    except errors.MyctlError:  # the state store is unavailable: let the registry retry
        return _busy("the state store is unavailable", ignored)
    if not all(claims):
        return Response(
            200, Result.DUPLICATE, "delivery seen before", ignored=ignored, delivery_keys=key_ids
        )
    limit = trigger.rate_limit_per_hour

    def admit() -> bool:
        return services.limiter.try_acquire(trigger.name, limit)

    submitted = tuple(
        Submitted(item, services.coalescer.submit(trigger, item, admit=admit))
        for item in verdict.accepted
    )
    limited = [item for item in submitted if item.outcome is coalesce.Outcome.RATE_LIMITED]
    if len(limited) == len(submitted):
        wait = max(math.ceil(services.limiter.retry_after(trigger.name, limit)), 1)
        return Response(
            429,
            Result.RATE_LIMITED,
            f"over {limit} runs per hour",
            headers=(*_JSON, ("Retry-After", str(wait))),
            submitted=submitted,
            ignored=ignored,
            delivery_keys=key_ids,
        )
    return Response(
        202, Result.ACCEPTED, submitted=submitted, ignored=ignored, delivery_keys=key_ids
    )


def _busy(reason: str, ignored: tuple[str, ...]) -> Response:
    return Response(
        503,
        Result.BUSY,
        reason,
        headers=(*_JSON, ("Retry-After", str(BUSY_RETRY_AFTER_SECONDS))),
        ignored=ignored,
    )
