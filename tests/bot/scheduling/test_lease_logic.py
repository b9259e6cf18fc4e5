"""The election rules with a fake clock and an in-memory Lease (the real API: test_lease_kube)."""

from __future__ import annotations

import datetime as dt

import pytest

from commands.kube import lease
from commands.values import clock, errors
from tests.support.fakes import MemoryLease

TIMING = lease.LeaseTiming(lease_duration=15, renew_deadline=10, retry_period=2)


def _elector(
    backend: MemoryLease, name: str, fake: clock.FakeClock, log: list[str]
) -> lease.LeaderElector:
    return lease.LeaderElector(
        backend,
        name,
        on_started_leading=lambda: log.append(f"{name} started"),
        on_stopped_leading=lambda: log.append(f"{name} stopped"),
        timing=TIMING,
        clock=fake,
    )  # fmt: skip


def test_first_candidate_leads_and_second_waits() -> None:
    backend, fake, log = MemoryLease(), clock.FakeClock(), []
    a, b = _elector(backend, "a", fake, log), _elector(backend, "b", fake, log)
    a.step()
    b.step()
    assert log == ["a started"] and a.is_leader and not b.is_leader
    for _ in range(20):  # a keeps renewing, b never takes over
        fake.advance(2)
        a.step()
        b.step()
    assert log == ["a started"]
    assert backend.record is not None and backend.record.holder == "a"


def test_leader_that_cannot_renew_stops_before_the_lease_expires_for_others() -> None:
    backend, fake, log = MemoryLease(), clock.FakeClock(), []
    a, b = _elector(backend, "a", fake, log), _elector(backend, "b", fake, log)
    a.step()
    b.step()
    renewed = backend.record
    assert renewed is not None and renewed.renew_time is not None
    backend.fail = True  # a is cut off from the API server; so is b, for now
    waited = 0.0
    for _ in range(100):  # the election thread's loop, with time moved by the fake clock
        delay = a.step()
        if "a stopped" in log:
            break
        fake.advance(max(delay, 0.001))
        waited += max(delay, 0.001)
    assert log == ["a started", "a stopped"]
    assert not a.is_leader
    assert waited <= TIMING.renew_deadline + 0.01
    backend.fail = False
    b.step()  # b only sees the lease as expired after the full duration
    assert "b started" not in log
    fake.advance(TIMING.lease_duration)
    b.step()
    assert log[-1] == "b started"
    assert fake.now() >= renewed.renew_time + dt.timedelta(seconds=TIMING.lease_duration)


def test_released_lease_is_taken_at_the_next_retry() -> None:
    backend, fake, log = MemoryLease(), clock.FakeClock(), []
    a, b = _elector(backend, "a", fake, log), _elector(backend, "b", fake, log)
    a.step()
    b.step()
    a.stop(release=True)
    assert backend.record is not None and backend.record.holder == ""
    fake.advance(TIMING.retry_period)
    b.step()
    assert log == ["a started", "a stopped", "b started"]
    assert backend.record.holder == "b" and backend.record.transitions == 1


def test_losing_a_race_on_replace_does_not_lead() -> None:
    backend, fake, log = MemoryLease(), clock.FakeClock(), []
    a = _elector(backend, "a", fake, log)
    a.step()
    a.stop(release=True)
    b, c = _elector(backend, "b", fake, log), _elector(backend, "c", fake, log)
    stale = backend.get()
    b.step()
    assert stale is not None
    with pytest.raises(lease.LeaseConflict):
        backend.replace(stale)  # what c would send with the version it read before b won
    c.step()
    assert log[-1] == "b started"


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"), [(10, 10, 2), (15, 10, 10), (15, 20, 2), (0.5, 0.3, 0.1)]
)
def test_inconsistent_timing_is_a_config_error(
    duration: float, deadline: float, retry: float
) -> None:
    with pytest.raises(errors.ConfigError):
        lease.LeaseTiming(lease_duration=duration, renew_deadline=deadline, retry_period=retry)


def test_renewals_that_hang_still_stop_before_expiry() -> None:
    # The request timeout plus the renew deadline stays inside the lease duration.
    assert TIMING.renew_deadline + TIMING.request_timeout < TIMING.lease_duration
