"""Bursts of one image coalesce into one run; a push during a run queues exactly one more."""

from __future__ import annotations

import threading

from bot.hooks import coalesce, push
from commands.values import clock as clocks
from tests.bot.hooks import payloads
from tests.bot.hooks.support import trigger

Outcome = coalesce.Outcome
REPO = "registry.example.com/team/api"
RULE = trigger()


def _push(
    digest: str | None = payloads.DIGEST_A,
    tag: str = "v1",
    repo: str = REPO,
    event_id: str | None = None,
) -> push.Push:
    return push.Push(repo, tag, digest, event_id)


def _coalescer() -> tuple[clocks.FakeClock, coalesce.Coalescer, list[coalesce.Run]]:
    clock = clocks.FakeClock()
    started: list[coalesce.Run] = []
    return clock, coalesce.Coalescer(clock, started.append), started


def test_three_events_of_a_multi_arch_push_make_one_run_with_the_newest_digest() -> None:
    clock, coalescer, started = _coalescer()
    outcomes = []
    for event_id, digest in (
        ("p1", payloads.DIGEST_A),
        ("p2", payloads.DIGEST_B),
        ("idx", payloads.DIGEST_INDEX),
    ):
        outcomes.append(coalescer.submit(RULE, _push(digest, event_id=event_id)))
        clock.advance(0.05)
    assert outcomes == [Outcome.SCHEDULED, Outcome.MERGED, Outcome.MERGED]
    assert coalescer.take_due() == []  # still within the burst
    clock.advance(coalesce.SETTLE_SECONDS)
    (run,) = coalescer.take_due()
    assert started == [run]
    assert (run.repository, run.tag, run.digest, run.pushes) == (
        REPO,
        "v1",
        payloads.DIGEST_INDEX,
        3,
    )
    assert run.event_ids == ("p1", "p2", "idx")
    assert run.reference == f"{REPO}:v1@{payloads.DIGEST_INDEX}"


def test_a_lone_push_starts_its_run_after_the_settle_time_not_the_whole_window() -> None:
    clock, coalescer, _ = _coalescer()
    coalescer.submit(RULE, _push())
    assert coalescer.next_due_in() == coalesce.SETTLE_SECONDS
    clock.advance(coalesce.SETTLE_SECONDS)
    assert len(coalescer.take_due()) == 1
    assert coalescer.next_due_in() is None


def test_a_steady_stream_of_pushes_runs_at_the_latest_when_the_window_closes() -> None:
    clock, coalescer, _ = _coalescer()
    rule = trigger(coalesce_window_seconds=2.0)
    coalescer.submit(rule, _push())
    for _ in range(7):  # one push every 0.25 s never lets the burst settle
        clock.advance(0.25)
        coalescer.submit(rule, _push(payloads.DIGEST_B))
        assert coalescer.take_due() == []
    clock.advance(0.25)  # 2 s after the first push
    (run,) = coalescer.take_due()
    assert run.pushes == 8 and run.digest == payloads.DIGEST_B


def test_different_tags_repositories_and_triggers_are_separate_runs() -> None:
    clock, coalescer, _ = _coalescer()
    coalescer.submit(RULE, _push(tag="v1"))
    coalescer.submit(RULE, _push(tag="v2"))
    coalescer.submit(RULE, _push(repo="registry.example.com/team/web"))
    coalescer.submit(trigger(name="other"), _push(tag="v1"))
    clock.advance(60)
    assert len(coalescer.take_due()) == 4


def test_a_push_during_a_run_queues_exactly_one_follow_up() -> None:
    clock, coalescer, _ = _coalescer()
    coalescer.submit(RULE, _push(payloads.DIGEST_A))
    clock.advance(60)
    (first,) = coalescer.take_due()
    outcomes = [
        coalescer.submit(RULE, _push(d))
        for d in (payloads.DIGEST_B, payloads.DIGEST_INDEX, payloads.DIGEST_B)
    ]
    assert outcomes == [Outcome.FOLLOW_UP, Outcome.FOLLOW_UP_MERGED, Outcome.FOLLOW_UP_MERGED]
    clock.advance(60)
    assert coalescer.take_due() == []  # the follow-up waits for the run in progress
    coalescer.finished(first)
    (follow_up,) = coalescer.take_due()
    assert follow_up.follow_up and follow_up.pushes == 3 and follow_up.digest == payloads.DIGEST_B
    coalescer.finished(follow_up)
    assert coalescer.take_due() == [] and coalescer.running() == []


def test_finishing_a_run_twice_or_a_stranger_releases_nothing() -> None:
    clock, coalescer, _ = _coalescer()
    coalescer.submit(RULE, _push())
    clock.advance(60)
    (run,) = coalescer.take_due()
    coalescer.finished(coalesce.Run(RULE.name, REPO, "v1", None, 1))  # an equal-looking stranger
    assert coalescer.running() == [run]
    coalescer.finished(run)
    coalescer.finished(run)
    assert coalescer.running() == []


def test_admit_is_asked_only_for_a_new_run() -> None:
    clock, coalescer, _ = _coalescer()
    asked: list[str] = []

    def admit() -> bool:
        asked.append("?")
        return len(asked) <= 1

    assert coalescer.submit(RULE, _push(), admit=admit) is Outcome.SCHEDULED
    assert coalescer.submit(RULE, _push(), admit=admit) is Outcome.MERGED
    assert coalescer.submit(RULE, _push(tag="v2"), admit=admit) is Outcome.RATE_LIMITED
    assert len(asked) == 2
    clock.advance(60)
    assert [run.tag for run in coalescer.take_due()] == ["v1"]


def test_concurrent_pushes_of_one_image_make_one_run() -> None:
    clock, coalescer, _ = _coalescer()
    barrier = threading.Barrier(8)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait(timeout=10)
        for _ in range(50):
            outcome = coalescer.submit(RULE, _push())
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count(Outcome.SCHEDULED) == 1
    assert outcomes.count(Outcome.MERGED) == 399
    clock.advance(60)
    (run,) = coalescer.take_due()
    assert run.pushes == 400
