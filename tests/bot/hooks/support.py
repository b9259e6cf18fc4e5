"""Triggers and fakes shared by the hook tests (no mocks: small real implementations)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Any

from bot.hooks import coalesce, handler, ratelimit
from commands.values import clock as clocks
from commands.values import triggers

Source = triggers.Source


def trigger(source: Source = Source.DISTRIBUTION, **overrides: Any) -> triggers.Trigger:
    fields: dict[str, Any] = {
        "name": f"{source.value}-acme",
        "source": source,
        "secret_env": "MYCTL_HOOK_TEST",
        "images": ("*",),
        "channel": "C789",
    }
    fields.update(overrides)
    return triggers.Trigger(**fields)


class MemoryClaims:
    """`claim_delivery` over a set, like the state store's unique key (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, trigger: str, key: str, keep: dt.timedelta) -> bool:
        with self._lock:
            if (trigger, key) in self.seen:
                return False
            self.seen.add((trigger, key))
            return True


@dataclasses.dataclass
class Bot:
    """What the HTTP transport will hold: a clock, a coalescer, a limiter, the claims."""

    clock: clocks.FakeClock
    coalescer: coalesce.Coalescer
    limiter: ratelimit.RateLimiter
    claims: MemoryClaims
    room: bool = True

    @classmethod
    def create(cls) -> Bot:
        clock = clocks.FakeClock()
        return cls(
            clock=clock,
            coalescer=coalesce.Coalescer(clock),
            limiter=ratelimit.RateLimiter(clock),
            claims=MemoryClaims(),
        )

    @property
    def services(self) -> handler.Services:
        return handler.Services(
            claim_delivery=self.claims,
            coalescer=self.coalescer,
            limiter=self.limiter,
            has_room=lambda: self.room,
        )

    def runs_after_settling(self) -> list[coalesce.Run]:
        self.clock.advance(60)
        return self.coalescer.take_due()
