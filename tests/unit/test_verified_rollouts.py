"""The outcome never claims more than happened: pull policies, digests before and after.

On the in-memory cluster, whose nodes cache images and pull per imagePullPolicy as a kubelet
does (commands/kube/memory_images.py), so the cached-tag pitfall is real here too.
"""

import pytest

from commands.engine import orchestrate, restart
from commands.kube import memory
from commands.values import events, images, requests, results, workloads
from tests.unit.helpers import make_engine

Kind = workloads.Kind
API = "registry.example.com/team/api:1.4.2"
Outcome = events.Outcome
Verified = results.Verified


def _orchestrate(
    cluster: memory.MemoryCluster, *, dry_run: bool = False, **options: object
) -> results.RestartResult:
    engine = make_engine(cluster, dry_run=dry_run)
    request = orchestrate.Request(
        (images.parse(API),),
        requests.RestartOptions(**options),  # type: ignore[arg-type]
    )
    result = orchestrate.run(engine, request)
    assert result.restart is not None
    assert result.exit_code == result.restart.exit_code
    return result.restart


def _by_name(result: results.RestartResult) -> dict[str, results.TargetOutcome]:
    return {item.target.name: item for item in result.outcomes}


@pytest.fixture
def defaults() -> memory.MemoryCluster:
    """Deployments as people write them: no imagePullPolicy, so the API server's default."""
    cluster = memory.MemoryCluster()
    for name in ("web", "api", "worker", "jobs"):
        cluster.add(Kind.DEPLOYMENT, "demo", name, API)
    return cluster


def test_default_pull_policy_rolls_nothing_out_and_says_so(defaults: memory.MemoryCluster) -> None:
    defaults.images.push(API)
    result = _orchestrate(defaults)
    assert result.exit_code == 1
    assert {item.outcome for item in result.outcomes} == {Outcome.STALE_PULL}
    assert defaults.calls.patches == []
    advice = " ".join(result.advice())
    for name in ("demo/deployment/web", "demo/deployment/jobs", "IfNotPresent"):
        assert name in advice
    for fix in ("--pin-digest", "imagePullPolicy: Always", "--allow-stale-pull"):
        assert fix in advice
    assert "not restarted (cannot pull a new image) 4 of 4" in result.summary()


def test_dry_run_reports_the_same_verdicts_as_would(defaults: memory.MemoryCluster) -> None:
    result = _orchestrate(defaults, dry_run=True)
    assert result.exit_code == 1
    assert "would not pull a new image 4" in result.summary()
    assert defaults.calls.patches == []


def test_a_paused_deployment_is_reported_as_paused_whatever_else_applies(
    defaults: memory.MemoryCluster,
) -> None:
    defaults.add(Kind.DEPLOYMENT, "demo", "frozen", API, paused=True)
    frozen = _by_name(_orchestrate(defaults))["frozen"]
    assert (frozen.outcome, "paused" in frozen.detail) == (Outcome.FAILED, True)


def test_paused_beside_an_updated_workload_is_partial() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    cluster.add(Kind.DEPLOYMENT, "demo", "frozen", API, paused=True, pull_policy="Always")
    cluster.images.push(API)
    result = _orchestrate(cluster, wait=True)
    assert result.exit_code == 3
    assert _by_name(result)["web"].verified is Verified.UPDATED
    assert "paused" in _by_name(result)["frozen"].detail


def test_pull_always_and_a_re_pushed_tag_is_verified_updated() -> None:
    cluster = memory.MemoryCluster()
    ref = cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    old = cluster.images.remote_digest(API)
    new = cluster.images.push(API)
    result = _orchestrate(cluster, wait=True)
    web = _by_name(result)["web"]
    assert (result.exit_code, web.outcome, web.verified) == (0, Outcome.RESTARTED, Verified.UPDATED)
    assert (web.digests_before, web.digests_after) == ((old,), (new,))
    assert {c.digest for pod in cluster.pods(ref) for c in pod.containers} == {new}
    assert images.short_digest(old) in web.digest_change()
    assert result.summary() == "rolled out 1 of 1 workloads"


def test_pull_always_without_a_new_push_is_unchanged_and_fails() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    result = _orchestrate(cluster, wait=True)
    web = _by_name(result)["web"]
    assert (result.exit_code, web.outcome, web.verified) == (
        1,
        Outcome.UNCHANGED,
        Verified.UNCHANGED,
    )
    assert "node-a" in web.detail and "Still the old image" in " ".join(result.advice())


def test_allow_stale_pull_over_cached_nodes_is_unchanged_not_success(
    defaults: memory.MemoryCluster,
) -> None:
    defaults.images.push(API)  # the nodes cached the old digest when the pods started
    result = _orchestrate(defaults, wait=True, allow_stale_pull=True)
    assert result.exit_code == 1
    assert {item.verified for item in result.outcomes} == {Verified.UNCHANGED}


def test_expected_digest_pinned_runs_exactly_it_whatever_the_pull_policy(
    defaults: memory.MemoryCluster,
) -> None:
    pushed = defaults.images.push(API)
    key = str(images.parse(API))
    result = _orchestrate(defaults, wait=True, pin_digest=True, expected_digests=((key, pushed),))
    assert result.exit_code == 0
    assert {item.verified for item in result.outcomes} == {Verified.UPDATED}
    web = workloads.WorkloadRef(Kind.DEPLOYMENT, "demo", "web")
    assert defaults.workload(web).containers[0].image == f"{API}@{pushed}"
    assert {c.digest for pod in defaults.pods(web) for c in pod.containers} == {pushed}


def test_expected_digest_restarts_only_what_does_not_run_it_and_is_idempotent() -> None:
    cluster = memory.MemoryCluster()
    done = cluster.add(Kind.DEPLOYMENT, "demo", "done", API, pull_policy="Always")
    cluster.add(Kind.DEPLOYMENT, "demo", "behind", API, pull_policy="Always")
    pushed = cluster.images.push(API)
    restart.run(make_engine(cluster), restart.Request((done,)))  # `done` pulls the push
    expected = ((str(images.parse(API)), pushed),)
    first = _orchestrate(cluster, wait=True, expected_digests=expected, max_targets=1)
    assert {n: o.outcome for n, o in _by_name(first).items()} == {
        "done": Outcome.UP_TO_DATE,
        "behind": Outcome.RESTARTED,
    }
    assert first.exit_code == 0
    patches = len(cluster.calls.patches)
    second = _orchestrate(cluster, wait=True, expected_digests=expected)
    assert second.exit_code == 0
    assert {o.outcome for o in second.outcomes} == {Outcome.UP_TO_DATE}
    assert len(cluster.calls.patches) == patches  # the repeat restarted nothing


def test_without_wait_the_result_says_it_was_not_verified() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    result = _orchestrate(cluster)
    assert result.exit_code == 0
    assert _by_name(result)["web"].verified is Verified.UNKNOWN
    assert "not verified" in result.summary()


def test_a_workload_scaled_to_zero_is_unknown_not_a_failure() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "idle", API, pull_policy="Always", replicas=0)
    result = _orchestrate(cluster, wait=True)
    idle = _by_name(result)["idle"]
    assert (result.exit_code, idle.verified) == (0, Verified.UNKNOWN)
    assert "no pods" in idle.detail


def test_wait_uses_one_watch_per_workload_and_a_stuck_rollout_times_out() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "stuck", API, pull_policy="Always", rollout="stuck")
    cluster.images.push(API)
    result = _orchestrate(cluster, wait=True, timeout_seconds=30)
    stuck = _by_name(result)["stuck"]
    assert (stuck.outcome, "timed out" in stuck.detail) == (Outcome.FAILED, True)
    assert cluster.calls.watches == 1


def test_json_carries_digests_and_verdict_per_target() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    new = cluster.images.push(API)
    payload = _orchestrate(cluster, wait=True).to_json()
    target = payload["targets"][0]
    assert target["verified"] == "updated" and target["digests_after"] == [new]
    assert len(target["digests_before"]) == 1 and target["digests_before"][0].startswith("sha256:")


def test_a_pinned_workload_still_belongs_to_its_tags_next_rollout(
    defaults: memory.MemoryCluster,
) -> None:
    key = str(images.parse(API))
    first = defaults.images.push(API)
    _orchestrate(defaults, wait=True, pin_digest=True, expected_digests=((key, first),))
    second = defaults.images.push(API)
    unpinned = _orchestrate(defaults, wait=True)
    assert {o.outcome for o in unpinned.outcomes} == {Outcome.STALE_PULL}  # selected, and told why
    assert "pinned by digest" in _by_name(unpinned)["web"].detail
    again = _orchestrate(defaults, wait=True, pin_digest=True, expected_digests=((key, second),))
    assert again.exit_code == 0 and {o.verified for o in again.outcomes} == {Verified.UPDATED}
    web = workloads.WorkloadRef(Kind.DEPLOYMENT, "demo", "web")
    assert defaults.workload(web).containers[0].image == f"{API}@{second}"


def test_a_patch_whose_answer_was_lost_is_confirmed_by_a_re_read() -> None:
    cluster = memory.MemoryCluster()
    ref = cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    cluster.lost_patch_answers.arm(1)
    result = restart.run(make_engine(cluster), restart.Request((ref,)))
    assert (result.exit_code, result.outcomes[0].outcome) == (0, Outcome.RESTARTED)
    assert cluster.workload(ref).restarted_at is not None


def test_a_second_push_within_the_same_second_still_rolls_out() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always")
    engine = make_engine(cluster)  # a fake clock that does not move between the two runs
    key = str(images.parse(API))
    for _ in range(2):
        pushed = cluster.images.push(API)
        request = orchestrate.Request(
            (images.parse(API),),
            requests.RestartOptions(wait=True, expected_digests=((key, pushed),)),
        )
        result = orchestrate.run(engine, request)
        assert result.exit_code == 0, result.summary()
