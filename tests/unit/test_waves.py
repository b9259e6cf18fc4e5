"""`--canary N`: wave planning, the stop rules and the keep-going hook, on the in-memory cluster
(docs/rollouts.md)."""

from __future__ import annotations

import dataclasses

import pytest

from commands.cli import parser, render
from commands.engine import orchestrate, restart
from commands.engine.context import Engine
from commands.kube import memory
from commands.values import errors, events, images, requests, results, workloads
from tests.unit.helpers import Recorder, make_engine

Kind = workloads.Kind
Outcome = events.Outcome
API = "registry.example.com/team/api:1.4.2"


def _cluster(*names: str, namespace: str = "shop", **add: object) -> memory.MemoryCluster:
    cluster = memory.MemoryCluster()
    for name in names:
        cluster.add(Kind.DEPLOYMENT, namespace, name, API, pull_policy="Always", **add)  # type: ignore[arg-type]
    return cluster


def _rollout(engine: Engine, canary: int | None = 1, **options: object) -> results.RestartResult:
    opts = requests.RestartOptions(canary=canary, wait=True, **options)  # type: ignore[arg-type]
    result = orchestrate.run(engine, orchestrate.Request((images.parse(API),), opts))
    assert result.restart is not None
    return result.restart


def _outcomes(result: results.RestartResult) -> dict[str, Outcome]:
    return {item.target.name: item.outcome for item in result.outcomes}


def _notes(recorder: Recorder) -> list[str]:
    return [note.message for note in recorder.of(events.Note)]


def test_a_good_canary_is_followed_by_the_rest_in_a_second_wave() -> None:
    cluster = _cluster("a", "b", "c", "d")
    cluster.images.push(API)
    recorder = Recorder()
    result = _rollout(make_engine(cluster, recorder=recorder))
    assert result.exit_code == 0
    assert set(_outcomes(result).values()) == {Outcome.RESTARTED}
    assert {item.verified for item in result.outcomes} == {results.Verified.UPDATED}
    assert _notes(recorder) == ["wave 1/2: canary (1)", "wave 2/2: the rest (3)"]


def test_a_canary_that_never_becomes_ready_leaves_the_rest_untouched() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "shop", "a-first", API, pull_policy="Always", rollout="stuck")
    for name in ("b", "c"):
        cluster.add(Kind.DEPLOYMENT, "shop", name, API, pull_policy="Always")
    cluster.images.push(API)
    versions = {name: cluster.resource_version(_ref(name)) for name in ("b", "c")}
    recorder = Recorder()
    result = _rollout(make_engine(cluster, recorder=recorder), timeout_seconds=30)
    assert result.exit_code == 1
    assert _outcomes(result) == {
        "a-first": Outcome.FAILED,
        "b": Outcome.NOT_STARTED,
        "c": Outcome.NOT_STARTED,
    }
    assert {name: cluster.resource_version(_ref(name)) for name in ("b", "c")} == versions
    assert [ref.name for ref, _dry in cluster.calls.patches] == ["a-first"]
    assert "not started 2 of 3 workloads" in result.summary()
    assert any("Not started: 2 workload(s)" in line for line in result.advice())
    assert "the canary shop/deployment/a-first was failed" in result.outcomes[1].detail
    assert any(n.startswith("wave 2/2 not started (2)") for n in _notes(recorder))


def test_a_canary_still_on_the_old_digest_stops_the_run() -> None:
    cluster = _cluster("a", "b", "c")  # the tag was never re-pushed: the digest stays the same
    result = _rollout(make_engine(cluster))
    assert result.exit_code == 1
    assert _outcomes(result) == {
        "a": Outcome.UNCHANGED,
        "b": Outcome.NOT_STARTED,
        "c": Outcome.NOT_STARTED,
    }
    payload = result.to_json()
    assert [t["outcome"] for t in payload["targets"]] == ["unchanged", "not-started", "not-started"]


def test_the_canary_is_the_first_target_by_namespace_kind_and_name() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.STATEFULSET, "alpha", "zeta", API, pull_policy="Always")
    cluster.add(Kind.DEPLOYMENT, "beta", "aaa", API, pull_policy="Always")
    cluster.add(Kind.DEPLOYMENT, "alpha", "zeta", API, pull_policy="Always")
    cluster.add(Kind.DEPLOYMENT, "alpha", "yak", API, pull_policy="Always")
    cluster.images.push(API)
    result = _rollout(make_engine(cluster), canary=2)
    assert result.exit_code == 0
    first_two = [ref for ref, _dry in cluster.calls.patches[:2]]
    assert {(r.namespace, r.kind.value, r.name) for r in first_two} == {
        ("alpha", "Deployment", "yak"),
        ("alpha", "Deployment", "zeta"),
    }


def test_up_to_date_targets_do_not_take_a_canary_slot() -> None:
    cluster = _cluster("a", "b", "c")
    new = cluster.images.push(API)
    ahead = restart.Request((_ref("a"),), options=requests.RestartOptions(wait=True))
    assert restart.run(make_engine(cluster), ahead).exit_code == 0  # "a" already runs `new`
    cluster.calls.patches.clear()
    gate = _Gate(answer=True)
    engine = dataclasses.replace(make_engine(cluster), continue_after_canary=gate)
    result = _rollout(engine, expected_digests=((API, new),))
    assert _outcomes(result) == {
        "a": Outcome.UP_TO_DATE,
        "b": Outcome.RESTARTED,
        "c": Outcome.RESTARTED,
    }
    assert [[o.target.name for o in canary] for canary in gate.asked] == [["b"]]


class _Gate:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[results.TargetOutcome, ...]] = []

    def __call__(self, canary: tuple[results.TargetOutcome, ...]) -> bool:
        self.asked.append(canary)
        return self.answer


def test_the_hook_saying_stop_after_a_good_canary_is_partial_and_starts_nothing_more() -> None:
    cluster = _cluster("a", "b", "c")
    cluster.images.push(API)
    gate = _Gate(answer=False)
    engine = dataclasses.replace(make_engine(cluster), continue_after_canary=gate)
    result = _rollout(engine)
    assert result.exit_code == 3
    assert _outcomes(result) == {
        "a": Outcome.RESTARTED,
        "b": Outcome.NOT_STARTED,
        "c": Outcome.NOT_STARTED,
    }
    assert "stopped after a good canary" in result.outcomes[1].detail
    assert [o.verified for o in gate.asked[0]] == [results.Verified.UPDATED]
    assert len(cluster.calls.patches) == 1


def test_the_hook_is_not_asked_when_the_canary_failed_nor_in_a_dry_run() -> None:
    gate = _Gate(answer=True)
    failing = _cluster("a", "b")  # not re-pushed: the canary stays unchanged
    _rollout(dataclasses.replace(make_engine(failing), continue_after_canary=gate))
    dry = _cluster("a", "b")
    dry.images.push(API)
    result = _rollout(
        dataclasses.replace(make_engine(dry, dry_run=True), continue_after_canary=gate)
    )
    assert gate.asked == []
    assert result.exit_code == 0
    assert set(_outcomes(result).values()) == {Outcome.WOULD_RESTART}


def test_an_error_while_asking_the_hook_means_stop() -> None:
    def broken(_canary: tuple[results.TargetOutcome, ...]) -> bool:
        raise errors.ClusterError("the approval store is gone")

    cluster = _cluster("a", "b")
    cluster.images.push(API)
    result = _rollout(dataclasses.replace(make_engine(cluster), continue_after_canary=broken))
    assert _outcomes(result) == {"a": Outcome.RESTARTED, "b": Outcome.NOT_STARTED}


def test_the_blast_radius_guard_counts_every_target_not_only_the_canary() -> None:
    cluster = _cluster("a", "b", "c")
    cluster.images.push(API)
    with pytest.raises(errors.BlastRadiusExceeded, match="refusing to restart 3"):
        _rollout(make_engine(cluster), max_targets=2)
    assert cluster.calls.patches == []


def test_a_canary_as_large_as_the_run_is_one_wave() -> None:
    cluster = _cluster("a", "b")
    cluster.images.push(API)
    recorder = Recorder()
    result = _rollout(make_engine(cluster, recorder=recorder), canary=5)
    assert result.exit_code == 0
    assert _notes(recorder) == ["wave 1/1: canary (2)"]


def test_the_rest_is_bounded_by_concurrency() -> None:
    cluster = _cluster(*(f"w{i}" for i in range(7)))
    cluster.images.push(API)
    cluster.patch_latency = 0.02
    result = _rollout(make_engine(cluster), concurrency=2)
    assert result.exit_code == 0
    assert cluster.calls.peak_concurrent_patches == 2


def test_a_named_restart_canary_on_the_same_digest_passes_and_implies_wait() -> None:
    cluster = _cluster("a", "b")
    opts = requests.RestartOptions(canary=1)  # no wait given: the canary implies it
    result = restart.run(
        make_engine(cluster), restart.Request((_ref("b"), _ref("a")), options=opts)
    )
    assert result.exit_code == 0
    assert result.waited
    assert set(_outcomes(result).values()) == {Outcome.RESTARTED}
    assert cluster.calls.patches[0][0].name == "a"


def test_canary_on_the_command_line_implies_wait_and_must_be_positive() -> None:
    inv = parser.parse(["orchestrate", "--image", API, "--canary", "2"])
    assert (inv.restart.canary, inv.restart.wait) == (2, True)
    with pytest.raises(errors.UsageError, match="--canary"):
        parser.parse(["restart", "deployment/api", "--canary", "0"])


def test_not_started_targets_are_listed_with_the_reason_in_text_output() -> None:
    cluster = _cluster("a", "b")
    lines = render.text_lines(_rollout(make_engine(cluster)))
    expected = "Not started deployment: shop/b: the canary shop/deployment/a was unchanged"
    assert any(line.startswith(expected) for line in lines)


def test_each_target_records_the_containers_that_run_the_image() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "shop", "web", API, "sidecar:1", pull_policy="Always")
    cluster.images.push(API)
    result = _rollout(make_engine(cluster), canary=None)
    assert result.to_json()["targets"][0]["containers"] == ["web"]


def _ref(name: str, namespace: str = "shop") -> workloads.WorkloadRef:
    return workloads.WorkloadRef(Kind.DEPLOYMENT, namespace, name)
