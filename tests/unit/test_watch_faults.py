"""A watch that expires (410 Gone) or breaks mid-wait is resumed from a fresh read, and the run
still ends with the true verdict; a watch that keeps failing backs off and stops at the deadline
(commands/engine/waiting.py, the in-memory cluster's commands/kube/memory_faults.py)."""

from commands.engine import orchestrate
from commands.kube import memory
from commands.values import events, images, requests, results, workloads
from tests.unit.helpers import make_engine

API = "registry.example.com/team/api:1.4.2"
Outcome = events.Outcome


def _stuck() -> tuple[memory.MemoryCluster, workloads.WorkloadRef]:
    cluster = memory.MemoryCluster()
    ref = cluster.add(
        workloads.Kind.DEPLOYMENT, "demo", "web", API, pull_policy="Always", rollout="stuck"
    )
    cluster.images.push(API)
    return cluster, ref


def _wait(cluster: memory.MemoryCluster, timeout: float = 30) -> results.RestartResult:
    engine = make_engine(cluster)
    options = requests.RestartOptions(wait=True, timeout_seconds=timeout)
    result = orchestrate.run(engine, orchestrate.Request((images.parse(API),), options))
    assert result.restart is not None
    return result.restart


def test_a_watch_expired_mid_wait_is_resumed_and_the_rollout_is_verified() -> None:
    cluster, ref = _stuck()
    cluster.expire_next_watches(2, then=lambda: cluster.finish_rollout(ref))

    result = _wait(cluster)

    (web,) = result.outcomes
    assert result.exit_code == 0, result.summary()
    assert (web.outcome, web.verified) == (Outcome.RESTARTED, results.Verified.UPDATED)
    assert cluster.watch_faults.fired == 2 and cluster.calls.watches == 2


def test_a_stuck_rollout_behind_expired_watches_still_times_out() -> None:
    cluster, _ref = _stuck()
    cluster.expire_next_watches(3)

    result = _wait(cluster)

    (web,) = result.outcomes
    assert web.outcome is Outcome.FAILED and "timed out" in web.detail
    assert result.exit_code != 0
    assert cluster.calls.watches == 4  # three expired, the fourth waited out the deadline


def test_a_watch_that_always_expires_backs_off_and_stops_at_the_deadline() -> None:
    cluster, _ref = _stuck()
    cluster.expire_next_watches(100_000)

    result = _wait(cluster, timeout=60)

    (web,) = result.outcomes
    assert web.outcome is Outcome.FAILED and "timed out" in web.detail
    # Resumed at once the first time, then with backoff: a handful of requests, not a hot loop.
    assert 2 <= cluster.watch_faults.fired <= 30, cluster.watch_faults.fired
