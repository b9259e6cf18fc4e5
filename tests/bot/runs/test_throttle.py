"""The throttle: at most one update per interval, always the latest state, nothing after close."""

from __future__ import annotations

from collections.abc import Callable

from bot.runs import throttle
from commands.values import clock


class FakeTimers:
    """A `throttle.Schedule` whose timers fire only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], list[bool]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> throttle.Cancel:
        cancelled = [False]
        self.pending.append((delay, callback, cancelled))

        class _Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return _Handle()

    def fire(self) -> None:
        due, self.pending = self.pending, []
        for _, callback, cancelled in due:
            if not cancelled[0]:
                callback()


def make_throttle(
    fake: clock.FakeClock, timers: FakeTimers
) -> tuple[throttle.Throttle[int], list[int]]:
    sent: list[int] = []
    return throttle.Throttle(sent.append, clock=fake, interval=1.0, schedule=timers), sent


def test_updates_within_a_second_are_coalesced_into_the_latest() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()  # the first post

    for state in range(1, 101):
        gate_.offer(state)
    assert sent == []
    assert [round(delay, 3) for delay, _, _ in timers.pending] == [1.0]

    fake.advance(1.0)
    timers.fire()
    assert sent == [100]


def test_at_most_one_send_per_interval_however_many_events() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    for second in range(10):
        for state in range(50):
            gate_.offer(second * 100 + state)
            fake.advance(0.02)
        timers.fire()
    assert len(sent) <= 10
    assert sent[-1] == 949


def test_an_idle_throttle_sends_at_once() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    fake.advance(5)
    gate_.offer(7)
    assert sent == [7]
    assert timers.pending == []


def test_nothing_is_sent_after_close() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    gate_.offer(1)
    gate_.close()
    fake.advance(2)
    timers.fire()
    gate_.offer(2)
    assert sent == []


# --------------------------------------------------------------------------- messages
