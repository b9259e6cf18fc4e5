"""What a recorded run restarted, read back for `myctl rollback`, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from commands.state import records, rollbacks
from commands.state import store as store_mod
from commands.values import clock as clocks

V1 = "sha256:" + "1" * 64


def _target(name: str, outcome: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "namespace": "shop",
        "name": name,
        "outcome": outcome,
        "digests_before": [V1],
        "containers": [name],
    }


def _finished(
    store: store_mod.StateStore,
    clock: clocks.FakeClock,
    command: str,
    details: dict[str, Any] | None,
    *,
    dry_run: bool = False,
) -> str:
    clock.advance(60)  # runs are ordered by start time
    run_id = store.start_run(
        records.NewRun(
            command=command, argv=[command], user="U1", channel="C1", source="cli", dry_run=dry_run
        )
    )
    store.finish_run(run_id, exit_code=0, summary="done", details=details)
    return run_id


def test_the_latest_restarting_run_skips_dry_runs_and_runs_that_restarted_nothing(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    wanted = _finished(
        store, clock, "orchestrate", {"restart": {"targets": [_target("api", "restarted")]}}
    )
    _finished(store, clock, "restart", {"targets": [_target("api", "restarted")]}, dry_run=True)
    _finished(store, clock, "restart", {"targets": [_target("api", "up-to-date")]})
    _finished(store, clock, "check", {"targets": [_target("api", "restarted")]})
    running = store.start_run(
        records.NewRun(
            command="restart", argv=[], user="U1", channel="C1", source="cli", dry_run=False
        )
    )
    found = rollbacks.latest_restarting_run(store)
    assert found is not None and found.id == wanted != running


def test_no_restarting_run_at_all_is_none(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    _finished(store, clock, "select", None)
    assert rollbacks.latest_restarting_run(store) is None


def test_restarted_targets_are_the_restarted_and_unchanged_ones_with_their_containers(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    targets = [_target("a", "restarted"), _target("b", "unchanged"), _target("c", "failed")]
    run = store.get_run(_finished(store, clock, "restart", {"targets": targets}))
    assert run is not None
    found = rollbacks.restarted_targets(run)
    assert [(t.name, t.containers, t.digests_before) for t in found] == [
        ("a", ("a",), (V1,)),
        ("b", ("b",), (V1,)),
    ]
