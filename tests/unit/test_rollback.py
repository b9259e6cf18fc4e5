"""`myctl rollback`: planned from the audit record of a run, on the in-memory cluster, through
the real CLI with a SQLite state store (docs/rollouts.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from commands.cli import main, parser
from commands.engine import rollback
from commands.kube import memory
from commands.state import records
from commands.state import store as state_store
from commands.values import clock, events, workloads

Kind = workloads.Kind
Outcome = events.Outcome
API = "registry.example.com/team/api:1.4.2"


def run(cluster: memory.MemoryCluster, *args: str, environ: dict[str, str]) -> Result:
    runtime = main.Runtime(
        environ=environ,
        connect=lambda _options, _settings: cluster,
        clock=clock.FakeClock(),
        stdin_is_tty=lambda: False,
        stderr_is_tty=lambda: False,
    )
    return CliRunner().invoke(parser.cli, list(args), obj=runtime)


@pytest.fixture
def state(tmp_path: Path) -> dict[str, str]:
    return {"MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}", "USER": "alice"}


@pytest.fixture
def cluster() -> memory.MemoryCluster:
    c = memory.MemoryCluster()
    for name in ("api", "worker"):
        c.add(Kind.DEPLOYMENT, "shop", name, API, pull_policy="Always")
    return c


def _digests(cluster: memory.MemoryCluster, name: str) -> set[str | None]:
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, "shop", name)
    return {c.digest for pod in cluster.pods(ref) for c in pod.containers}


def _rolled_to_v2(cluster: memory.MemoryCluster, state: dict[str, str]) -> tuple[str, str]:
    v1 = cluster.images.remote_digest(API)
    v2 = cluster.images.push(API)
    done = run(cluster, "orchestrate", "--image", API, "--wait", environ=state)
    assert done.exit_code == 0, done.output
    assert _digests(cluster, "api") == _digests(cluster, "worker") == {v2}
    return v1, v2


def test_rollback_pins_every_restarted_workload_back_to_the_digest_it_ran_before(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    v1, _v2 = _rolled_to_v2(cluster, state)
    result = run(cluster, "rollback", "-o", "json", environ=state)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["command"] == "rollback"
    assert {t["verified"] for t in payload["targets"]} == {"updated"}
    assert _digests(cluster, "api") == _digests(cluster, "worker") == {v1}
    api = cluster.workload(workloads.WorkloadRef(Kind.DEPLOYMENT, "shop", "api"))
    assert api.containers[0].image == f"{API}@{v1}"
    with state_store.StateStore(state["MYCTL_STATE_URL"]) as store:
        latest, undone = store.latest_runs(2)
    assert latest.command == "rollback" and latest.details is not None
    assert latest.details["undoes"] == undone.id and undone.command == "orchestrate"


def test_rollback_of_a_named_run_and_a_dry_run_changes_nothing(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    _v1, v2 = _rolled_to_v2(cluster, state)
    with state_store.StateStore(state["MYCTL_STATE_URL"]) as store:
        orchestrated = store.latest_runs(1)[0].id
    cluster.calls.patches.clear()
    result = run(cluster, "rollback", "--run", orchestrated, "--dry-run", environ=state)
    assert result.exit_code == 0, result.output
    assert "[dry-run] Would restart deployment: shop/api" in result.output
    assert {dry for _ref, dry in cluster.calls.patches} == {True}
    assert _digests(cluster, "api") == {v2}


def test_global_flags_go_before_or_after_rollback(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    _rolled_to_v2(cluster, state)
    before = run(cluster, "--dry-run", "-o", "json", "rollback", environ=state)
    after = run(cluster, "rollback", "--dry-run", "-o", "json", environ=state)
    for result in (before, after):
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        assert payload["dry_run"] is True
        assert {t["outcome"] for t in payload["targets"]} == {"would-restart"}


def test_rollback_without_a_state_store_is_exit_2_and_says_so(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "rollback", environ={})
    assert result.exit_code == 2
    assert "MYCTL_STATE_URL" in result.output
    assert cluster.calls.patches == []


def test_rollback_of_an_unknown_run_is_exit_2(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    result = run(cluster, "rollback", "--run", "no-such-run", environ=state)
    assert result.exit_code == 2
    assert "no run 'no-such-run'" in result.output


def test_rollback_with_nothing_restarted_yet_is_exit_1(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    result = run(cluster, "rollback", environ=state)
    assert result.exit_code == 1
    assert "nothing to roll back" in result.output


def _record(*targets: dict[str, object]) -> records.RunRecord:
    return records.RunRecord(
        id="run-1",
        command="restart",
        argv=("restart",),
        user="U1",
        channel="terminal",
        source="cli",
        dry_run=False,
        state="finished",
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        finished_at=None,
        exit_code=0,
        summary="",
        message_ts=None,
        permalink=None,
        details={"targets": list(targets)},
    )


def _target(
    name: str, before: list[str], containers: list[str], outcome: str = "restarted"
) -> dict[str, object]:
    return {
        "kind": "Deployment",
        "namespace": "shop",
        "name": name,
        "outcome": outcome,
        "digests_before": before,
        "containers": containers,
    }


def test_rollback_planning_skips_targets_with_several_or_no_digests_before_with_the_reason() -> (
    None
):
    one, two = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    planned = rollback.plan(
        _record(
            _target("ok", [one], ["ok"]),
            _target("mixed", [one, two], ["mixed", "sidecar"]),
            _target("blind", [], ["blind"]),
            _target("old-record", [one], []),
            _target("failed", [one], ["failed"], outcome="failed"),
            _target("same", [one], ["same"], outcome="unchanged"),
        )
    )
    assert [(p.target.name, p.containers, p.digest) for p in planned.pins] == [
        ("ok", ("ok",), one),
        ("same", ("same",), one),
    ]
    reasons = {o.target.name: o.detail for o in planned.skipped}
    assert set(reasons) == {"mixed", "blind", "old-record"}
    assert "several digests" in reasons["mixed"] and "unknown" in reasons["blind"]
    assert {o.outcome for o in planned.skipped} == {Outcome.SKIPPED}


def test_a_rolled_back_workload_already_on_its_old_digest_is_up_to_date(
    cluster: memory.MemoryCluster, state: dict[str, str]
) -> None:
    _rolled_to_v2(cluster, state)
    assert run(cluster, "rollback", environ=state).exit_code == 0
    cluster.calls.patches.clear()
    with state_store.StateStore(state["MYCTL_STATE_URL"]) as store:
        orchestrated = store.latest_runs(2)[1].id
    again = run(cluster, "rollback", "--run", orchestrated, "-o", "json", environ=state)
    assert again.exit_code == 0, again.output
    assert {t["outcome"] for t in json.loads(again.output)["targets"]} == {"up-to-date"}
    assert cluster.calls.patches == []
