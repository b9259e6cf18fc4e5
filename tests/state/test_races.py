"""At most once, whatever the number of clicks, threads, processes and replicas.

Every race is repeated REPETITIONS times on each backend; one lost race is a failure.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from commands.state import records
from commands.state import store as store_mod
from commands.values import clock as clocks
from tests.state import race_worker

REPETITIONS = 50
THREADS = 8
T = TypeVar("T")


def _in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) in threads released together by a barrier; return the results."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return [r for r in results if r is not None]


def _approval(store: store_mod.StateStore, now: dt.datetime) -> str:
    return store.create_approval(
        records.NewApproval(
            command="rebuild",
            argv=["rebuild"],
            user="U_REQ",
            channel="C1",
            expires_at=now + dt.timedelta(minutes=15),
            plan_text="plan",
        )
    ).id


def test_concurrent_approve_clicks_execute_exactly_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    now = clock.now()
    for _ in range(REPETITIONS):
        approval_id = _approval(store, now)

        def click(i: int, approval_id: str = approval_id) -> tuple[str, bool]:
            outcome = store.decide(approval_id, decision="approve", actor=f"U{i}", now=now)
            # Every click also tries to claim, as a careless replica might.
            return outcome.status.value, store.claim_execution(approval_id)

        results = _in_threads(THREADS, click)
        statuses = Counter(status for status, _ in results)
        assert statuses == {"approved": 1, "not_pending": THREADS - 1}
        assert sum(claimed for _, claimed in results) == 1
        final = store.get_approval(approval_id)
        assert final is not None and final.state == "executing"


def test_concurrent_approve_and_cancel_decide_exactly_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    now = clock.now()
    for _ in range(REPETITIONS):
        approval_id = _approval(store, now)

        def click(i: int, approval_id: str = approval_id) -> records.DecisionOutcome:
            decision: records.DecisionKind = "cancel" if i % 2 else "approve"
            return store.decide(approval_id, decision=decision, actor=f"U{i}", now=now)

        outcomes = _in_threads(THREADS, click)
        assert sum(outcome.won for outcome in outcomes) == 1
        final = store.get_approval(approval_id)
        assert final is not None and final.state in ("approved", "cancelled")


def test_concurrent_votes_with_two_required_approve_exactly_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    now = clock.now()
    for _ in range(REPETITIONS):
        approval_id = _approval(store, now)

        def click(i: int, approval_id: str = approval_id) -> str:
            # Two clicks per approver: double clicks must count once.
            outcome = store.decide(
                approval_id, decision="approve", actor=f"U{i // 2}", now=now, required=2
            )
            return outcome.status.value

        statuses = Counter(_in_threads(THREADS, click))
        assert statuses["approved"] == 1
        assert statuses["recorded"] == 1
        final = store.get_approval(approval_id)
        assert final is not None and final.state == "approved" and len(final.approvers) == 2


def test_concurrent_expiry_expires_each_request_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    created = clock.now()
    later = created + dt.timedelta(hours=1)
    for _ in range(REPETITIONS):
        ids = {_approval(store, created) for _ in range(3)}
        batches = _in_threads(4, lambda _i: [a.id for a in store.expire_due(later)])
        expired = [approval_id for batch in batches for approval_id in batch]
        assert sorted(expired) == sorted(ids)  # each exactly once, over all callers


def test_two_processes_clicking_the_same_requests_execute_each_once(
    state_url: str, clock: clocks.FakeClock
) -> None:
    """Two replicas (processes with their own engines) receive one click each per request."""
    with store_mod.StateStore(state_url) as store:
        now = dt.datetime.now(dt.UTC)
        ids = [_approval(store, now) for _ in range(REPETITIONS)]
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        queue = ctx.Queue()
        workers = [
            ctx.Process(target=race_worker.race, args=(state_url, ids, actor, barrier, queue))
            for actor in ("U_REPLICA_A", "U_REPLICA_B")
        ]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=120) for _ in range(2 * REPETITIONS)]
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        for approval_id in ids:
            mine = [r for r in results if r[0] == approval_id]
            assert sorted(status for _, _, status, _ in mine) == ["approved", "not_pending"]
            assert sum(claimed for *_, claimed in mine) == 1
            final = store.get_approval(approval_id)
            assert final is not None and final.state == "executing"
