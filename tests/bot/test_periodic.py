"""The loop behind the periodic sweeps: calls its work every interval until stopped."""

from __future__ import annotations

import threading

from bot import periodic


def test_work_is_called_again_and_again_until_stopped() -> None:
    calls: list[int] = []
    third = threading.Event()

    def work() -> None:
        calls.append(len(calls))
        if len(calls) >= 3:
            third.set()

    loop = periodic.Periodic("test-periodic", 0.01, work).start()
    assert third.wait(timeout=5.0)
    loop.stop()
    assert not loop._thread.is_alive()  # so no call can come after stop


def test_stop_before_the_first_interval_never_calls_work() -> None:
    calls: list[int] = []
    loop = periodic.Periodic("test-periodic", 60.0, lambda: calls.append(1)).start()
    loop.stop()
    assert calls == []
    assert not loop._thread.is_alive()
