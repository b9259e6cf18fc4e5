"""Webhook deliveries claimed once in the state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import sqlalchemy as sa

from commands.state import deliveries, schema
from commands.state import store as store_mod
from commands.values import clock as clocks

HOUR = dt.timedelta(hours=1)


def _claim(
    store: store_mod.StateStore,
    delivery_id: str,
    now: dt.datetime,
    trigger: str = "ghcr",
    keep: dt.timedelta = deliveries.RETENTION,
) -> bool:
    return deliveries.claim_delivery(
        store, trigger=trigger, delivery_id=delivery_id, now=now, keep=keep
    )


def test_a_delivery_is_claimed_once(store: store_mod.StateStore, clock: clocks.FakeClock) -> None:
    now = clock.now()
    assert _claim(store, "d-1", now)
    assert not _claim(store, "d-1", now)
    assert not _claim(store, "d-1", now + 71 * HOUR)
    assert _claim(store, "d-2", now)


def test_the_same_id_for_another_trigger_is_another_delivery(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    assert _claim(store, "d-1", clock.now(), trigger="a")
    assert _claim(store, "d-1", clock.now(), trigger="b")


def test_a_delivery_counts_as_new_again_after_its_keep_time(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    now = clock.now()
    assert _claim(store, "body", now, keep=HOUR)
    assert not _claim(store, "body", now + 30 * dt.timedelta(minutes=1), keep=HOUR)
    assert _claim(store, "body", now + 2 * HOUR, keep=HOUR)
    assert not _claim(store, "body", now + 2 * HOUR, keep=HOUR)


def test_deliveries_are_kept_at_least_a_day_and_old_ones_pruned(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    start = clock.now()
    for index in range(5):
        assert _claim(store, f"old-{index}", start)
    assert dt.timedelta(hours=24) <= deliveries.RETENTION
    assert not _claim(store, "old-0", start + 24 * HOUR)  # a day later: still a duplicate
    assert deliveries.count(store) == 5
    later = start + deliveries.RETENTION + HOUR
    assert _claim(store, "new", later)
    assert deliveries.count(store) == 1  # the five old rows went with that claim


def test_an_overlong_id_is_hashed_not_truncated(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    prefix = "x" * 300
    assert _claim(store, prefix + "a", clock.now())
    assert _claim(store, prefix + "b", clock.now())
    assert not _claim(store, prefix + "a", clock.now())


def test_two_stores_racing_for_the_same_deliveries_claim_each_once(
    state_url: str, clock: clocks.FakeClock
) -> None:
    """Two replicas (own engines and pools), four threads each, 30 deliveries."""
    now = clock.now()
    ids = [f"race-{n}" for n in range(30)]
    with store_mod.StateStore(state_url) as first, store_mod.StateStore(state_url) as second:
        wins: list[str] = []
        failures: list[BaseException] = []
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def replica(store: store_mod.StateStore) -> None:
            try:
                barrier.wait(timeout=30)
                for delivery_id in ids:
                    if _claim(store, delivery_id, now):
                        with lock:
                            wins.append(delivery_id)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=replica, args=(s,)) for s in (first, second) * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert sorted(wins) == sorted(ids)


def test_a_version_1_database_is_migrated_to_hold_deliveries(
    tmp_path: Path, clock: clocks.FakeClock
) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            if table is not schema.hook_deliveries:
                table.create(conn)
        conn.execute(schema.schema_version.insert().values(id=1, version=1))
    engine.dispose()
    with store_mod.StateStore(url, clock=clock) as store:
        assert store.schema_version == schema.SCHEMA_VERSION >= 2
        assert _claim(store, "d-1", clock.now())
        assert not _claim(store, "d-1", clock.now())
