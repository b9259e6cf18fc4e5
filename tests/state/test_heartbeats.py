"""Run heartbeats and the stale-run sweep on SQLite and PostgreSQL, and the v2 → v3 migration."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from commands.state import heartbeats, records, schema
from commands.state import store as store_mod
from commands.values import clock as clocks
from tests.support import runs

STALE = dt.timedelta(seconds=60)


def _run(store: store_mod.StateStore, owner: str) -> str:
    return store.start_run(runs.restart(owner=owner))


def _state(store: store_mod.StateStore, run_id: str) -> str:
    run = store.get_run(run_id)
    assert run is not None
    return run.state


def test_a_run_whose_owner_stopped_heartbeating_is_marked_interrupted(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    alive, dead = _run(store, "bot-0"), _run(store, "bot-1")
    clock.advance(45)
    assert heartbeats.beat(store, "bot-0", clock.now()) == 1
    clock.advance(45)  # bot-1: 90 s without a beat; bot-0 beat 45 s ago

    marked = heartbeats.mark_stale(store, before=clock.now() - STALE, now=clock.now())

    assert [run.id for run in marked] == [dead]
    assert marked[0].owner == "bot-1" and marked[0].state == "interrupted"
    assert _state(store, alive) == "running"
    assert _state(store, dead) == "interrupted"
    again = store.get_run(dead)
    assert again is not None and again.finished_at == clock.now()


def test_a_heartbeating_run_is_never_swept_however_old(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    run_id = _run(store, "bot-0")
    for _ in range(10):
        clock.advance(30)
        heartbeats.beat(store, "bot-0", clock.now())
        assert heartbeats.mark_stale(store, before=clock.now() - STALE, now=clock.now()) == []
    assert _state(store, run_id) == "running"


def test_terminal_runs_and_finished_runs_are_left_alone(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    terminal = _run(store, "")  # `myctl restart --wait` from a shell: no heartbeat, no owner
    finished = _run(store, "bot-1")
    store.finish_run(finished, exit_code=0, summary="done")
    clock.advance(3600)

    assert heartbeats.mark_stale(store, before=clock.now() - STALE, now=clock.now()) == []
    assert _state(store, terminal) == "running"
    assert _state(store, finished) == "finished"


def test_replicas_sweeping_together_mark_each_stale_run_once(
    state_url: str, clock: clocks.FakeClock
) -> None:
    with store_mod.StateStore(state_url, clock=clock) as setup:
        ids = {_run(setup, "bot-dead") for _ in range(20)}
    clock.advance(120)
    stores = [store_mod.StateStore(state_url, clock=clock) for _ in range(2)]
    marked: list[records.RunRecord] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def replica(store: store_mod.StateStore) -> None:
        try:
            got = heartbeats.mark_stale(store, before=clock.now() - STALE, now=clock.now())
            with lock:
                marked.extend(got)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=replica, args=(s,)) for s in stores * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    assert not failures, failures
    assert sorted(run.id for run in marked) == sorted(ids)


def test_a_version_2_database_gains_the_heartbeat_column(
    state_url: str, clock: clocks.FakeClock
) -> None:
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
        conn.execute(sa.text("ALTER TABLE myctl_runs DROP COLUMN heartbeat_at"))  # as v2 was
        conn.execute(schema.schema_version.insert().values(id=1, version=2))
    engine.dispose()

    with store_mod.StateStore(state_url, clock=clock) as store:
        assert store.schema_version == schema.SCHEMA_VERSION == 3
        run_id = _run(store, "bot-0")
        assert heartbeats.beat(store, "bot-0", clock.now()) == 1
    inspector = sa.inspect(sa.create_engine(state_url))
    assert "heartbeat_at" in {c["name"] for c in inspector.get_columns("myctl_runs")}
    with store_mod.StateStore(state_url, clock=clock) as reopened:
        assert _state(reopened, run_id) == "running"
