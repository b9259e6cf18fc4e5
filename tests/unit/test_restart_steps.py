import pytest

from commands.engine import orchestrate, rebuild, restart, rollout, select
from commands.kube import memory, port
from commands.values import clock, errors, events, images, requests, workloads
from tests.unit.helpers import Recorder, make_engine

Kind = workloads.Kind
API = "registry.example.com/team/api:1.4.2"
DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def cluster() -> memory.MemoryCluster:
    # Pull policy Always: these tests are about selection, guards and waiting; what happens
    # with the API server's default (IfNotPresent) is in test_verified_rollouts.py.
    c = memory.MemoryCluster()
    c.add(Kind.DEPLOYMENT, "shop", "api", API, pull_policy="Always")
    c.add(Kind.DEPLOYMENT, "shop", "worker", API, "redis:7", pull_policy="Always")
    c.add(Kind.STATEFULSET, "shop", "db", "postgres:16", pull_policy="Always")
    return c


def _images(*texts: str) -> tuple[images.ImageRef, ...]:
    return tuple(images.parse(text) for text in texts)


def _ref(kind: Kind, ns: str, name: str) -> workloads.WorkloadRef:
    return workloads.WorkloadRef(kind, ns, name)


def test_select_finds_the_workloads_running_an_image(cluster: memory.MemoryCluster) -> None:
    rebuild.run(make_engine(cluster))
    result = select.run(make_engine(cluster), _images(API))
    assert result.exit_code == 0
    assert [str(target) for target in result.targets] == [
        "deployment: shop/api",
        "deployment: shop/worker",
    ]


def test_select_finds_nothing_like_grep(cluster: memory.MemoryCluster) -> None:
    rebuild.run(make_engine(cluster))
    result = select.run(make_engine(cluster), _images("nothing:1"))
    assert (result.exit_code, result.matches) == (1, ())


def test_select_by_repository_matches_any_tag(cluster: memory.MemoryCluster) -> None:
    cluster.add(
        Kind.DEPLOYMENT,
        "shop",
        "canary",
        "registry.example.com/team/api:1.5.0-rc1",
        pull_policy="Always",
    )
    rebuild.run(make_engine(cluster))
    result = select.run(
        make_engine(cluster), _images("registry.example.com/team/api"), images.MatchMode.REPOSITORY
    )
    assert len(result.targets) == 3


def test_select_without_a_cache_is_a_clear_error(cluster: memory.MemoryCluster) -> None:
    with pytest.raises(errors.CacheInvalid, match="run `myctl rebuild`") as caught:
        select.run(make_engine(cluster), _images(API))
    assert caught.value.exit_code == 2


def test_select_on_a_stale_cache_warns(cluster: memory.MemoryCluster) -> None:
    fake = clock.FakeClock()
    rebuild.run(make_engine(cluster, fake_clock=fake))
    fake.advance(3600)
    result = select.run(make_engine(cluster, fake_clock=fake), _images(API))
    assert result.exit_code == 0
    assert any("stale" in warning for warning in result.warnings)


def test_restart_patches_the_restarted_at_annotation(cluster: memory.MemoryCluster) -> None:
    fake = clock.FakeClock()
    target = _ref(Kind.DEPLOYMENT, "shop", "api")
    result = restart.run(make_engine(cluster, fake_clock=fake), restart.Request(targets=(target,)))
    assert result.exit_code == 0
    assert cluster.workload(target).restarted_at == clock.rfc3339(fake.now())
    assert port.RESTARTED_AT == "kubectl.kubernetes.io/restartedAt"


def test_dry_run_restart_uses_server_side_dry_run_and_changes_nothing(
    cluster: memory.MemoryCluster,
) -> None:
    target = _ref(Kind.DEPLOYMENT, "shop", "api")
    version = cluster.resource_version(target)
    result = restart.run(make_engine(cluster, dry_run=True), restart.Request(targets=(target,)))
    assert result.exit_code == 0
    assert result.outcomes[0].detail == "[dry-run] Would restart deployment: shop/api"
    assert cluster.calls.patches == [(target, True)]
    assert cluster.resource_version(target) == version
    assert cluster.workload(target).restarted_at is None


def test_paused_deployment_is_refused(cluster: memory.MemoryCluster) -> None:
    paused = cluster.add(Kind.DEPLOYMENT, "shop", "frozen", API, paused=True, pull_policy="Always")
    result = restart.run(make_engine(cluster), restart.Request(targets=(paused,)))
    assert result.exit_code == 1
    assert "paused" in result.outcomes[0].detail
    assert cluster.calls.patches == []


def test_some_failures_are_a_partial_failure(cluster: memory.MemoryCluster) -> None:
    paused = cluster.add(Kind.DEPLOYMENT, "shop", "frozen", API, paused=True, pull_policy="Always")
    targets = (_ref(Kind.DEPLOYMENT, "shop", "api"), paused)
    result = restart.run(make_engine(cluster), restart.Request(targets=targets))
    assert result.exit_code == 3
    assert result.summary() == "restarted 1, failed 1 of 2 workloads (not verified: no --wait)"


def test_forbidden_patch_fails_only_that_target(cluster: memory.MemoryCluster) -> None:
    cluster.add(Kind.DEPLOYMENT, "payments", "api", API, pull_policy="Always")
    cluster.forbid("patch", "deployments.apps", "payments")
    targets = (_ref(Kind.DEPLOYMENT, "shop", "api"), _ref(Kind.DEPLOYMENT, "payments", "api"))
    result = restart.run(make_engine(cluster), restart.Request(targets=targets))
    assert result.exit_code == 3
    failed = [o for o in result.outcomes if o.outcome is events.Outcome.FAILED]
    assert 'cannot patch deployments.apps in namespace "payments"' in failed[0].detail


def test_restart_forbidden_everywhere_is_a_configuration_error(
    cluster: memory.MemoryCluster,
) -> None:
    cluster.forbid("patch", "deployments.apps")
    result = restart.run(
        make_engine(cluster), restart.Request(targets=(_ref(Kind.DEPLOYMENT, "shop", "api"),))
    )
    assert result.exit_code == 2


def test_blast_radius_guard_refuses_before_touching_anything() -> None:
    cluster = memory.MemoryCluster()
    targets = tuple(
        cluster.add(Kind.DEPLOYMENT, "bulk", f"d{i}", API, pull_policy="Always") for i in range(51)
    )
    with pytest.raises(errors.BlastRadiusExceeded, match="--max-targets 51") as caught:
        restart.run(make_engine(cluster), restart.Request(targets=targets))
    assert caught.value.exit_code == 2
    assert cluster.calls.patches == []
    raised = restart.run(
        make_engine(cluster),
        restart.Request(targets=targets, options=requests.RestartOptions(max_targets=51)),
    )
    assert raised.exit_code == 0 and raised.succeeded == 51


def test_missing_named_target_restarts_nothing(cluster: memory.MemoryCluster) -> None:
    targets = (_ref(Kind.DEPLOYMENT, "shop", "api"), _ref(Kind.DEPLOYMENT, "shop", "typo"))
    with pytest.raises(errors.NotFound) as caught:
        restart.run(make_engine(cluster), restart.Request(targets=targets))
    assert caught.value.exit_code == 1
    assert cluster.calls.patches == []


def test_target_that_no_longer_runs_the_image_is_skipped_with_a_note(
    cluster: memory.MemoryCluster,
) -> None:
    rebuild.run(make_engine(cluster))
    cluster.set_image(_ref(Kind.DEPLOYMENT, "shop", "worker"), "registry.example.com/team/api:2")
    result = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert result.exit_code == 0
    assert result.restart is not None
    skipped = [o for o in result.restart.outcomes if o.outcome is events.Outcome.SKIPPED]
    assert [str(o.target) for o in skipped] == ["deployment: shop/worker"]
    assert "no longer runs" in skipped[0].detail
    assert (_ref(Kind.DEPLOYMENT, "shop", "worker"), False) not in cluster.calls.patches


def test_digest_pinned_and_if_not_present_targets_are_not_restarted() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "shop", "pinned", f"registry.example.com/team/api@{DIGEST}")
    cluster.add(Kind.DEPLOYMENT, "shop", "cached", API, pull_policy="IfNotPresent")
    rebuild.run(make_engine(cluster))
    request = orchestrate.Request(
        image_refs=_images("registry.example.com/team/api"),
        options=requests.RestartOptions(match=images.MatchMode.REPOSITORY),
    )
    result = orchestrate.run(make_engine(cluster), request)
    assert result.restart is not None
    details = {o.target.name: o.detail for o in result.restart.outcomes}
    assert "IfNotPresent" in details["cached"]
    assert "registry.example.com/team/api pinned by digest" in details["pinned"]
    assert cluster.calls.patches == []
    forced = orchestrate.run(
        make_engine(cluster),
        orchestrate.Request(
            image_refs=request.image_refs,
            options=requests.RestartOptions(
                match=images.MatchMode.REPOSITORY, allow_stale_pull=True
            ),
        ),
    )
    assert forced.restart is not None and forced.restart.succeeded == 2


def test_concurrency_is_bounded(cluster: memory.MemoryCluster) -> None:
    cluster.patch_latency = 0.01
    targets = tuple(
        cluster.add(Kind.DEPLOYMENT, "bulk", f"d{i}", API, pull_policy="Always") for i in range(30)
    )
    result = restart.run(
        make_engine(cluster),
        restart.Request(targets=targets, options=requests.RestartOptions(concurrency=3)),
    )
    assert result.succeeded == 30
    assert 2 <= cluster.calls.peak_concurrent_patches <= 3


def test_wait_follows_the_rollout_to_completion(cluster: memory.MemoryCluster) -> None:
    target = _ref(Kind.DEPLOYMENT, "shop", "api")
    result = restart.run(
        make_engine(cluster),
        restart.Request(targets=(target,), options=requests.RestartOptions(wait=True)),
    )
    assert result.outcomes[0].rollout == "complete"
    assert result.exit_code == 0


def test_wait_times_out_on_a_stuck_rollout() -> None:
    cluster = memory.MemoryCluster()
    stuck = cluster.add(
        Kind.DEPLOYMENT, "shop", "stuck", API, rollout="stuck", pull_policy="Always"
    )
    fake = clock.FakeClock()
    result = restart.run(
        make_engine(cluster, fake_clock=fake),
        restart.Request(
            targets=(stuck,), options=requests.RestartOptions(wait=True, timeout_seconds=30)
        ),
    )
    assert result.exit_code == 1
    assert "timed out" in result.outcomes[0].detail
    assert sum(fake.slept) == pytest.approx(30)


def test_progress_deadline_exceeded_counts_as_failed() -> None:
    cluster = memory.MemoryCluster()
    late = cluster.add(
        Kind.DEPLOYMENT, "shop", "late", API, rollout="deadline", pull_policy="Always"
    )
    result = restart.run(
        make_engine(cluster),
        restart.Request(targets=(late,), options=requests.RestartOptions(wait=True)),
    )
    assert result.exit_code == 1
    assert "progress deadline" in result.outcomes[0].detail


def test_restart_reports_progress_events(cluster: memory.MemoryCluster) -> None:
    recorder = Recorder()
    targets = (_ref(Kind.DEPLOYMENT, "shop", "api"), _ref(Kind.STATEFULSET, "shop", "db"))
    restart.run(make_engine(cluster, recorder=recorder), restart.Request(targets=targets))
    assert recorder.of(events.StepStarted)[0].total == 2
    assert len(recorder.of(events.ItemDone)) == 2
    assert recorder.of(events.StepFinished)[0].exit_code == 0


def test_orchestrate_rebuilds_only_when_the_cache_is_not_valid(
    cluster: memory.MemoryCluster,
) -> None:
    first = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert first.rebuild is not None and first.exit_code == 0
    assert first.restart is not None and first.restart.succeeded == 2
    second = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert second.rebuild is None and second.check.valid
    assert cluster.calls.cache_writes == 1


def test_orchestrate_with_nothing_to_do_succeeds(cluster: memory.MemoryCluster) -> None:
    result = orchestrate.run(
        make_engine(cluster), orchestrate.Request(image_refs=_images("unused:1"))
    )
    assert (result.exit_code, result.restart) == (0, None)
    assert result.summary().startswith("nothing to do")


def test_orchestrate_cannot_tell_without_cache_permission(cluster: memory.MemoryCluster) -> None:
    cluster.forbid("get", "configmaps", "myctl")
    result = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert result.exit_code == 2
    assert cluster.calls.patches == []


def test_orchestrate_partial_failure_is_exit_3(cluster: memory.MemoryCluster) -> None:
    cluster.add(Kind.DEPLOYMENT, "shop", "frozen", API, paused=True, pull_policy="Always")
    result = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert result.exit_code == 3


def test_orchestrate_all_failed_is_exit_1() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(Kind.DEPLOYMENT, "shop", "frozen", API, paused=True, pull_policy="Always")
    result = orchestrate.run(make_engine(cluster), orchestrate.Request(image_refs=_images(API)))
    assert result.exit_code == 1


def test_orchestrate_dry_run_changes_nothing_anywhere(cluster: memory.MemoryCluster) -> None:
    result = orchestrate.run(
        make_engine(cluster, dry_run=True), orchestrate.Request(image_refs=_images(API))
    )
    assert result.exit_code == 0
    assert result.rebuild is not None and not result.rebuild.written
    assert result.restart is not None and result.restart.succeeded == 2
    assert cluster.calls.cache_writes == 0
    assert all(dry for _ref, dry in cluster.calls.patches)
    assert cluster.workload(_ref(Kind.DEPLOYMENT, "shop", "api")).restarted_at is None


def _facts(**kw: object) -> workloads.Workload:
    return workloads.Workload(
        _ref(Kind.DEPLOYMENT, "a", "b"),
        (),
        rollout=workloads.RolloutFacts(**kw),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("facts", "state"),
    [
        ({"generation": 2, "observed_generation": 1}, rollout.State.IN_PROGRESS),
        (
            {"generation": 2, "observed_generation": 2, "desired": 3, "updated": 2},
            rollout.State.IN_PROGRESS,
        ),
        (
            {"generation": 2, "observed_generation": 2, "desired": 3, "updated": 3, "current": 4},
            rollout.State.IN_PROGRESS,
        ),
        (
            {
                "generation": 2,
                "observed_generation": 2,
                "desired": 3,
                "updated": 3,
                "current": 3,
                "available": 2,
            },
            rollout.State.IN_PROGRESS,
        ),
        (
            {
                "generation": 2,
                "observed_generation": 2,
                "desired": 3,
                "updated": 3,
                "current": 3,
                "available": 3,
            },
            rollout.State.COMPLETE,
        ),
    ],
)
def test_deployment_rollout_status_follows_kubectl(
    facts: dict[str, int], state: rollout.State
) -> None:
    assert rollout.status(_facts(**facts)).state is state
