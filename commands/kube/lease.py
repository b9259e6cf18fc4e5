"""Leader election on a coordination.k8s.io/v1 Lease, so one replica runs the scheduler.

Why not `kubernetes.leaderelection`: its `run()` blocks forever with no way to stop it, never
releases the lease on shutdown (a clean restart then waits a full lease duration), reads wall
time through `time.time()` so it cannot be tested with a fake clock, and runs the leader's work
in a thread it does not own. The loop here follows client-go's rules instead:

- acquire when the Lease is absent, has no holder, or is expired (renewTime + leaseDuration has
  passed, or we have seen the record unchanged for a full lease duration on our own monotonic
  clock, which also covers a holder whose clock runs ahead);
- renew every `retry_period`; writes are replaces at the resourceVersion we read, so two
  candidates racing for the same Lease cannot both win (the loser gets 409);
- a leader that has not renewed within `renew_deadline` stops leading, and because
  `renew_deadline + request_timeout < lease_duration`, it has stopped before any other replica
  may consider the lease expired: there is never a moment with two leaders;
- on a clean stop the lease is released (no holder, 1 s duration) so another replica takes over
  at its next retry instead of after a lease duration.

The Lease on a real API server is `commands/kube/lease_api.py`; every client exception becomes
one of `commands.values.errors` there (via `client.translate`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from commands.values import clock as clock_mod
from commands.values import errors

log = logging.getLogger(__name__)

DEFAULT_LEASE_NAME = "myctl-scheduler"
RESOURCE = "leases.coordination.k8s.io"


@dataclass(frozen=True)
class LeaseTiming:
    """Seconds. Defaults are client-go's (kube-controller-manager uses 15/10/2): a dead leader is
    replaced within ~15 s, and a leader survives an API server hiccup of up to ~10 s."""

    lease_duration: float = 15.0  # how long others wait after the last renewal before taking over
    renew_deadline: float = 10.0  # a leader that could not renew for this long stops leading
    retry_period: float = 2.0  # between attempts to acquire or renew

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise errors.ConfigError(
                "lease timing: expected 0 < retry_period < renew_deadline < lease_duration, got "
                f"{self.retry_period} / {self.renew_deadline} / {self.lease_duration}"
            )
        if self.lease_duration < 1:
            # leaseDurationSeconds is an integer number of seconds on the wire.
            raise errors.ConfigError("lease timing: lease_duration must be at least 1 second")

    @property
    def request_timeout(self) -> float:
        """A renewal that hangs must not carry a leader past the lease's expiry: half of the
        slack between the renew deadline and the lease duration, at most 5 s."""
        return min((self.lease_duration - self.renew_deadline) / 2, 5.0)

    @property
    def duration_seconds(self) -> int:
        return max(1, round(self.lease_duration))


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec as the election reads it, and the resourceVersion it was read at."""

    holder: str
    duration_seconds: int
    acquire_time: dt.datetime | None
    renew_time: dt.datetime | None
    transitions: int
    resource_version: str = ""


class LeaseConflict(errors.TemporaryError):
    """Someone else wrote the Lease since we read it (HTTP 409): we lost the race."""


class LeaseBackend(Protocol):
    """Where the Lease lives: `KubeLeaseBackend`, or a fake in unit tests."""

    def get(self) -> LeaseRecord | None:
        """The Lease, or None when it does not exist."""
        ...

    def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create it; `LeaseConflict` if it exists already."""
        ...

    def replace(self, record: LeaseRecord) -> LeaseRecord:
        """Replace at `record.resource_version`; `LeaseConflict` if it changed meanwhile."""
        ...


class LeaderElector:
    """Campaign for a Lease; call `on_started_leading` / `on_stopped_leading` on changes.

    Drive it with `start()` (a daemon thread) and `stop()`, or call `step()` yourself with a
    fake clock in unit tests. Callbacks run on the election thread and must return quickly.
    """

    def __init__(
        self,
        backend: LeaseBackend,
        identity: str,
        *,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        timing: LeaseTiming | None = None,
        clock: clock_mod.Clock | None = None,
    ) -> None:
        if not identity:
            raise errors.ConfigError("leader election: the identity must not be empty")
        self.backend = backend
        self.identity = identity
        self.timing = timing or LeaseTiming()
        self._clock: clock_mod.Clock = clock or clock_mod.SystemClock()
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._lock = threading.RLock()
        self._leading = False
        self._renewed_at = 0.0  # monotonic time we SENT the last successful renewal
        self._record: LeaseRecord | None = None  # our last write, for renewals
        self._observed: tuple[str, float] | None = None  # (resourceVersion, monotonic first seen)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ state
    @property
    def is_leader(self) -> bool:
        """True only while our last renewal is within the renew deadline: a job about to post
        asks this, so a leader cut off from the API server stops acting even between steps."""
        with self._lock:
            return self._leading and (
                self._clock.monotonic() < self._renewed_at + self.timing.renew_deadline
            )

    # ------------------------------------------------------------------ loop
    def step(self) -> float:
        """One attempt to acquire or renew; returns the seconds to wait before the next one."""
        with self._lock:
            self._expire_if_overdue()
            sent_at = self._clock.monotonic()
            try:
                won = self._try_acquire_or_renew(sent_at)
            except errors.MyctlError as exc:
                log.warning("leader election (%s): %s", self.identity, exc)
                won = False
            if won:
                self._renewed_at = sent_at
                if not self._leading:
                    self._start_leading()
            elif self._leading and self._record_names_other():
                self._stop_leading("another replica holds the lease")
            self._expire_if_overdue()
            if not self._leading:
                return self.timing.retry_period
            # Wake up in time to stop leading at the deadline if renewals keep failing.
            left = self._renewed_at + self.timing.renew_deadline - self._clock.monotonic()
            return max(0.0, min(self.timing.retry_period, left))

    def start(self) -> LeaderElector:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-{self.identity}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> None:
        """Stop campaigning; if leading, stop leading first, then release the lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            was_leading = self._leading
            if was_leading:
                self._stop_leading("shutting down")
            if release and (was_leading or self._record_names_self()):
                self._release()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.step()
            except Exception:  # a bug must not kill the thread while we hold the lease
                log.exception("leader election step failed (%s)", self.identity)
                delay = self.timing.retry_period
            self._stop.wait(delay)

    # ------------------------------------------------------------------ internals
    def _try_acquire_or_renew(self, now_mono: float) -> bool:
        current = self.backend.get()
        now = self._clock.now()
        if current is None:
            fresh = LeaseRecord(self.identity, self.timing.duration_seconds, now, now, 0)
            try:
                self._record = self.backend.create(fresh)
            except LeaseConflict:
                return False
            return True
        self._observe(current, now_mono)
        self._record = current
        ours = current.holder == self.identity
        if current.holder and not ours and not self._expired(current, now, now_mono):
            return False
        wanted = replace(
            current,
            holder=self.identity,
            duration_seconds=self.timing.duration_seconds,
            renew_time=now,
            acquire_time=current.acquire_time if ours else now,
            transitions=current.transitions + (0 if ours else 1),
        )
        try:
            self._record = self.backend.replace(wanted)
        except LeaseConflict:
            return False
        return True

    def _observe(self, record: LeaseRecord, now_mono: float) -> None:
        if self._observed is None or self._observed[0] != record.resource_version:
            self._observed = (record.resource_version, now_mono)

    def _expired(self, record: LeaseRecord, now: dt.datetime, now_mono: float) -> bool:
        if record.renew_time is None:
            return True
        duration = dt.timedelta(seconds=record.duration_seconds)
        if now >= record.renew_time + duration:
            return True
        unchanged_since = self._observed[1] if self._observed else now_mono
        return now_mono - unchanged_since >= record.duration_seconds

    def _record_names_other(self) -> bool:
        return bool(self._record and self._record.holder not in ("", self.identity))

    def _record_names_self(self) -> bool:
        return bool(self._record and self._record.holder == self.identity)

    def _expire_if_overdue(self) -> None:
        if self._leading and (
            self._clock.monotonic() >= self._renewed_at + self.timing.renew_deadline
        ):
            self._stop_leading(f"could not renew within {self.timing.renew_deadline:g}s")

    def _start_leading(self) -> None:
        self._leading = True
        log.info("%s started leading", self.identity)
        try:
            self._on_started()
        except Exception:
            # Holding a lease that protects nothing would block every other replica.
            log.exception("on_started_leading failed; giving the lease up")
            self._stop_leading("on_started_leading failed")
            self._release()

    def _stop_leading(self, why: str) -> None:
        self._leading = False
        log.info("%s stopped leading: %s", self.identity, why)
        try:
            self._on_stopped()
        except Exception:
            log.exception("on_stopped_leading failed")

    def _release(self) -> None:
        """Best effort: a failed release only means others wait out the lease duration."""
        try:
            current = self.backend.get()
            if current is None or current.holder != self.identity:
                return
            now = self._clock.now()
            self._record = self.backend.replace(
                replace(current, holder="", duration_seconds=1, renew_time=now, acquire_time=now)
            )
        except errors.MyctlError as exc:
            log.warning("could not release the lease (%s): %s", self.identity, exc)
