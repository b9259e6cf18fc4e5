"""The run driver: due runs go to the launcher; a full runner is retried; follow-ups start."""

from __future__ import annotations

from bot.hooks import coalesce, push, runner
from commands.values import clock as clocks
from tests.bot.hooks import support

TRIGGER = support.trigger()


def _push(digest: str = "sha256:" + "1" * 64) -> push.Push:
    return push.Push("registry.example.com:5000/team/api", "v1", digest)


def test_a_due_run_is_launched_once_and_nothing_before_it_is_due() -> None:
    clock = clocks.FakeClock()
    coalescer = coalesce.Coalescer(clock)
    launched: list[coalesce.Run] = []
    driver = runner.Driver(coalescer, lambda run: launched.append(run) or True)
    coalescer.submit(TRIGGER, _push())
    wait = driver.step()
    assert launched == [] and wait is not None and 0 < wait <= coalesce.SETTLE_SECONDS
    clock.advance(coalesce.SETTLE_SECONDS)
    assert driver.step() is None
    assert [run.reference for run in launched] == [_push().reference]
    assert driver.step() is None and len(launched) == 1


def test_a_run_the_runner_cannot_take_is_offered_again_until_taken() -> None:
    clock = clocks.FakeClock()
    coalescer = coalesce.Coalescer(clock)
    room = {"free": False}
    launched: list[coalesce.Run] = []

    def launch(run: coalesce.Run) -> bool:
        if room["free"]:
            launched.append(run)
        return room["free"]

    driver = runner.Driver(coalescer, launch, retry_seconds=0.25)
    coalescer.submit(TRIGGER, _push())
    clock.advance(60)
    assert driver.step() == 0.25 and driver.waiting == 1
    # Meanwhile a push of the same image queues a follow-up, not a second run.
    assert coalescer.submit(TRIGGER, _push("sha256:" + "2" * 64)) is coalesce.Outcome.FOLLOW_UP
    room["free"] = True
    assert driver.step() is None and driver.waiting == 0 and len(launched) == 1
    coalescer.finished(launched[0])
    clock.advance(60)
    driver.step()
    assert [run.follow_up for run in launched] == [False, True]


def test_a_launcher_that_raises_releases_the_image() -> None:
    clock = clocks.FakeClock()
    coalescer = coalesce.Coalescer(clock)

    def broken(run: coalesce.Run) -> bool:
        raise RuntimeError("boom")

    driver = runner.Driver(coalescer, broken)
    coalescer.submit(TRIGGER, _push())
    clock.advance(60)
    assert driver.step() is None
    assert coalescer.running() == [] and driver.waiting == 0
