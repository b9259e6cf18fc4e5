"""Bursts of pushes of one image become one run; a push during that run queues one more.

Per (trigger, repository, tag):

    idle ──push──▶ pending ──due──▶ running ──finished──▶ idle
                   ▲   │ push: merged          │ push: one follow-up queued (later pushes
                   │   ▼                        ▼        merge into it)
                   └─────────── finished, follow-up queued ──┘

A pending burst is due `SETTLE_SECONDS` after its latest push, and at the latest
`coalesce_window` after its first: the events of a multi-arch push (index plus platform
manifests) arrive back to back and make one run, while a lone push still starts within the
push-to-restart target (docs/benchmarks.md: p50 ≤ 1 s). The run gets the newest push's digest
as its expected digest.

Pure logic: no threads, no timers. The driver calls `take_due()` when `next_due_in()` says so
(e.g. a thread waiting on an event that `submit` results wake) and `finished(run)` when a run
ends. Thread-safe; the clock is injected (`commands.values.clock`).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.hooks import push
from commands.values import clock as clocks
from commands.values import triggers

# Seconds of quiet that end a burst. A registry sends the events of one multi-arch push within
# milliseconds of each other; half a second is ample for that and keeps p50 latency under 1 s.
SETTLE_SECONDS = 0.5

Key = tuple[str, str, str]  # trigger name, repository, tag


class Outcome(enum.Enum):
    SCHEDULED = "scheduled"  # first push of a burst: a new run is scheduled
    MERGED = "merged"  # joined a burst still waiting for its run
    FOLLOW_UP = "follow_up"  # the image's run is in progress: one follow-up run queued
    FOLLOW_UP_MERGED = "follow_up_merged"  # joined the follow-up already queued
    RATE_LIMITED = "rate_limited"  # would have needed a new run, and `admit` said no

    @property
    def new_run(self) -> bool:
        return self in (Outcome.SCHEDULED, Outcome.FOLLOW_UP)


@dataclass(frozen=True)
class Run:
    """One run to start: orchestrate `reference` (with `digest` as the expected digest)."""

    trigger: str
    repository: str
    tag: str
    digest: str | None  # the newest push's digest
    pushes: int  # how many pushes this run covers
    event_ids: tuple[str, ...] = ()
    follow_up: bool = False  # queued while an earlier run of the same image was in progress

    @property
    def key(self) -> Key:
        return (self.trigger, self.repository, self.tag)

    @property
    def reference(self) -> str:
        base = f"{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


@dataclass
class _Burst:
    key: Key
    window: float
    first_at: float
    last_at: float
    digest: str | None
    follow_up: bool
    pushes: int = 1
    event_ids: list[str] = field(default_factory=list)

    @property
    def due_at(self) -> float:
        return min(self.first_at + self.window, self.last_at + min(SETTLE_SECONDS, self.window))

    def add(self, item: push.Push, now: float) -> None:
        self.last_at = now
        self.pushes += 1
        self.digest = item.digest
        if item.event_id:
            self.event_ids.append(item.event_id)

    def run(self) -> Run:
        trigger, repository, tag = self.key
        return Run(
            trigger=trigger,
            repository=repository,
            tag=tag,
            digest=self.digest,
            pushes=self.pushes,
            event_ids=tuple(self.event_ids),
            follow_up=self.follow_up,
        )


def _always() -> bool:
    return True


class Coalescer:
    def __init__(self, clock: clocks.Clock, on_ready: Callable[[Run], None] | None = None) -> None:
        self._clock = clock
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._pending: dict[Key, _Burst] = {}
        self._running: dict[Key, Run] = {}
        self._follow_ups: dict[Key, _Burst] = {}

    def submit(
        self,
        trigger: triggers.Trigger,
        item: push.Push,
        *,
        admit: Callable[[], bool] = _always,
    ) -> Outcome:
        """Add one push. `admit` is asked (under the lock) only when a new run would result."""
        key: Key = (trigger.name, item.repository, item.tag)
        now = self._clock.monotonic()
        with self._lock:
            # While a run of `key` goes on, pushes gather in its follow-up burst instead.
            follow_up = key in self._running
            bursts = self._follow_ups if follow_up else self._pending
            burst = bursts.get(key)
            if burst is not None:
                burst.add(item, now)
                return Outcome.FOLLOW_UP_MERGED if follow_up else Outcome.MERGED
            if not admit():
                return Outcome.RATE_LIMITED
            bursts[key] = self._burst(key, trigger, item, now, follow_up=follow_up)
            return Outcome.FOLLOW_UP if follow_up else Outcome.SCHEDULED

    def take_due(self) -> list[Run]:
        """Runs whose burst is over, now marked running; `on_ready` is called for each."""
        now = self._clock.monotonic()
        with self._lock:
            due = [key for key, burst in self._pending.items() if burst.due_at <= now]
            runs = []
            for key in due:
                run = self._pending.pop(key).run()
                self._running[key] = run
                runs.append(run)
        if self._on_ready is not None:
            for run in runs:
                self._on_ready(run)  # outside the lock: it may submit, or finish a run
        return runs

    def finished(self, run: Run) -> None:
        """`run` ended (whatever its outcome): a follow-up queued behind it becomes pending."""
        with self._lock:
            if self._running.get(run.key) is not run:
                return  # not ours, or reported twice: nothing to release
            del self._running[run.key]
            follow_up = self._follow_ups.pop(run.key, None)
            if follow_up is not None:
                self._pending[run.key] = follow_up

    def next_due_in(self) -> float | None:
        """Seconds until the next pending burst is due (0 if one is); None if none pends."""
        now = self._clock.monotonic()
        with self._lock:
            if not self._pending:
                return None
            return max(min(burst.due_at for burst in self._pending.values()) - now, 0.0)

    def running(self) -> list[Run]:
        with self._lock:
            return list(self._running.values())

    @staticmethod
    def _burst(
        key: Key, trigger: triggers.Trigger, item: push.Push, now: float, *, follow_up: bool
    ) -> _Burst:
        return _Burst(
            key=key,
            window=trigger.coalesce_window_seconds,
            first_at=now,
            last_at=now,
            digest=item.digest,
            follow_up=follow_up,
            event_ids=[item.event_id] if item.event_id else [],
        )
