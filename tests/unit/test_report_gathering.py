"""Report data gathered from the in-memory cluster with a fake clock."""

from __future__ import annotations

import dataclasses
import datetime as dt

from commands.engine import rebuild, reports, rollout
from commands.engine.context import Engine
from commands.kube import memory
from commands.values import clock, settings, workloads
from tests.support.fakes import FakeRunStore

Kind = workloads.Kind
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _engine(cluster: memory.MemoryCluster, fake: clock.FakeClock) -> Engine:
    return Engine(cluster=cluster, settings=settings.Settings(), clock=fake)


def _healthy_cluster() -> memory.MemoryCluster:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "web", "front", "nginx:1.27")
    cluster.add(Kind.DEPLOYMENT, "web", "api", "nginx:1.27", "redis:7")
    cluster.add(Kind.STATEFULSET, "data", "db", "postgres:16")
    cluster.add(Kind.DEPLOYMENT, "kube-system", "dns", "coredns:1.11")  # excluded by scope
    return cluster


def test_healthy_cluster_with_fresh_cache_is_healthy() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    rebuild.run(_engine(cluster, fake))
    fake.advance(60)
    report = reports.gather(_engine(cluster, fake), "morning", runs=FakeRunStore())
    assert report.overall is reports.Overall.HEALTHY
    assert report.cache is not None and report.cache.valid
    assert report.cache.stats.age_seconds == 60
    assert (report.cache.stats.images, report.cache.stats.workloads) == (3, 3)
    assert report.rollouts is not None and report.rollouts.problems == ()
    assert report.rollouts.checked == 3
    assert report.activity is not None and report.activity.total == 0


def test_images_are_ranked_by_how_many_workloads_run_them() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    report = reports.gather(_engine(cluster, fake), "m", ["images"])
    assert report.images is not None
    first = report.images.images[0]
    assert first.image == "docker.io/library/nginx:1.27"
    assert [r.name for r in first.workloads] == ["api", "front"]
    assert [u.image for u in report.images.top(10)][1:] == [
        "docker.io/library/postgres:16",
        "docker.io/library/redis:7",
    ]
    assert report.images.workloads == 3
    assert report.kinds == ("images",) and report.cache is None


def test_missing_cache_needs_attention_and_says_why() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    report = reports.gather(_engine(cluster, fake), "m", ["cache"])
    assert report.overall is reports.Overall.ATTENTION
    assert report.cache is not None and not report.cache.valid
    assert "no cache ConfigMap myctl/myctl-image-cache" in report.cache.reason


def test_stale_cache_needs_attention() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    rebuild.run(_engine(cluster, fake))
    fake.advance(3600)
    report = reports.gather(_engine(cluster, fake), "m", ["cache"])
    assert report.cache is not None and "old (max_age 10m" in report.cache.reason
    assert report.overall is reports.Overall.ATTENTION


def test_stuck_and_failed_rollouts_are_listed_failed_first() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    stuck = cluster.add(Kind.DEPLOYMENT, "web", "stuck", "nginx:1.27", rollout="stuck")
    late = cluster.add(Kind.DEPLOYMENT, "web", "late", "nginx:1.27", rollout="deadline")
    cluster.patch_restart(stuck, "2026-01-05T09:00:00Z", dry_run=False)
    cluster.patch_restart(late, "2026-01-05T09:00:00Z", dry_run=False)
    report = reports.gather(_engine(cluster, fake), "m", ["rollouts"])
    assert report.rollouts is not None
    problems = report.rollouts.problems
    assert [p.ref.name for p in problems] == ["late", "stuck"]
    assert problems[0].state is rollout.State.FAILED
    assert "progress deadline" in problems[0].message
    assert problems[1].state is rollout.State.IN_PROGRESS
    assert problems[1].unavailable == 0  # available pods stayed, only the update is stuck
    assert report.overall is reports.Overall.ERROR


def test_unavailable_replicas_alone_need_attention() -> None:
    cluster, fake = memory.MemoryCluster(), clock.FakeClock(START)
    ref = cluster.add(Kind.DEPLOYMENT, "web", "front", replicas=3)
    # MemoryCluster has no knob for degraded replicas; set the facts a controller would report.
    stored = cluster.workload(ref)
    facts = dataclasses.replace(stored.rollout, available=1, unavailable=2)
    cluster._objects[ref].workload = dataclasses.replace(stored, rollout=facts)
    report = reports.gather(_engine(cluster, fake), "m", ["rollouts"])
    assert report.rollouts is not None
    (problem,) = report.rollouts.problems
    assert problem.unavailable == 2
    assert report.overall is reports.Overall.ATTENTION


def test_activity_counts_by_command_and_exit_code_and_lists_failures() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    store = FakeRunStore()
    since = START - dt.timedelta(days=1)
    store.add("restart", 0, since - dt.timedelta(minutes=1))  # before the previous report
    store.add("restart", 0, since + dt.timedelta(hours=1))
    store.add("restart", 0, since + dt.timedelta(hours=2))
    store.add("restart", 3, since + dt.timedelta(hours=3), summary="failed 1 of 2 workloads")
    store.add("check", 0, since + dt.timedelta(hours=4))
    store.add("orchestrate", None, since + dt.timedelta(hours=5), state="interrupted")
    report = reports.gather(_engine(cluster, fake), "m", ["activity"], runs=store, since=since)
    activity = report.activity
    assert activity is not None and activity.total == 5
    assert [(c.command, c.exit_code, c.count) for c in activity.counts] == [
        ("check", 0, 1),
        ("orchestrate", None, 1),
        ("restart", 0, 2),
        ("restart", 3, 1),
    ]
    assert [(f.command, f.exit_code, f.state) for f in activity.failures] == [
        ("orchestrate", None, "interrupted"),
        ("restart", 3, "finished"),
    ]
    assert report.overall is reports.Overall.ATTENTION


def test_unreachable_cluster_is_an_error_report_not_a_crash() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    cluster.unreachable = True
    report = reports.gather(_engine(cluster, fake), "m", runs=FakeRunStore())
    assert report.overall is reports.Overall.ERROR
    assert report.cache is not None and report.cache.unknown
    assert {e.kind for e in report.errors} == {"images", "rollouts"}
    assert report.activity is not None


def test_forbidden_listing_names_the_permission() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    cluster.forbid("list", "statefulsets.apps")
    report = reports.gather(_engine(cluster, fake), "m", ["rollouts"])
    (error,) = report.errors
    assert "cannot list statefulsets.apps" in error.message


def test_without_a_state_store_activity_is_reported_missing() -> None:
    cluster, fake = _healthy_cluster(), clock.FakeClock(START)
    report = reports.gather(_engine(cluster, fake), "m", ["activity"])
    assert [e.kind for e in report.errors] == ["activity"]
