"""The real `myctl` command through click's runner, against the in-memory cluster."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from commands.cli import main, parser
from commands.kube import memory
from commands.values import clock, errors, workloads

Kind = workloads.Kind
API = "registry.example.com/team/api:1.4.2"


@pytest.fixture
def cluster() -> memory.MemoryCluster:
    # Pull policy Always so restarts roll out; the default policy's outcome has its own tests.
    c = memory.MemoryCluster()
    c.add(Kind.DEPLOYMENT, "shop", "api", API, pull_policy="Always")
    c.add(Kind.DEPLOYMENT, "shop", "worker", API, pull_policy="Always")
    return c


def run(
    cluster: memory.MemoryCluster,
    *args: str,
    tty: bool = False,
    answer: str | None = None,
    environ: dict[str, str] | None = None,
) -> Result:
    runtime = main.Runtime(
        environ=environ or {},
        connect=lambda _options, _settings: cluster,
        clock=clock.FakeClock(),
        stdin_is_tty=lambda: tty,
        stderr_is_tty=lambda: False,
    )
    return CliRunner().invoke(parser.cli, list(args), obj=runtime, input=answer)


def test_version_and_help_exit_zero(cluster: memory.MemoryCluster) -> None:
    assert run(cluster, "version").output.strip() == "myctl 0.1.0"
    helped = run(cluster, "--help")
    assert helped.exit_code == 0 and "orchestrate" in helped.output


def test_completion_prints_a_script(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "completion", "bash")
    assert result.exit_code == 0
    assert "_MYCTL_COMPLETE" in result.output


def test_unknown_flag_is_a_usage_error(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "check", "--bogus")
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_malformed_image_is_a_usage_error_and_changes_nothing(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "orchestrate", "--image", "Registry/API:1")
    assert result.exit_code == 2
    assert "must be lowercase" in result.output
    assert cluster.calls.cache_writes == 0 and cluster.calls.patches == []


def test_missing_image_is_a_usage_error(cluster: memory.MemoryCluster) -> None:
    assert run(cluster, "orchestrate").exit_code == 2
    assert run(cluster, "select").exit_code == 2


def test_check_exit_codes(cluster: memory.MemoryCluster) -> None:
    missing = run(cluster, "check")
    assert missing.exit_code == 1
    assert "cache needs rebuild: no cache ConfigMap" in missing.output
    assert run(cluster, "rebuild", "--force").exit_code == 0
    assert run(cluster, "check").exit_code == 0
    cluster.forbid("get", "configmaps", "myctl")
    assert run(cluster, "check").exit_code == 2


def test_rebuild_without_a_terminal_or_force_refuses_at_once(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "rebuild")
    assert result.exit_code == 2
    assert "pass --force" in result.output
    assert cluster.calls.lists == [] and cluster.calls.cache_writes == 0


def test_rebuild_asks_on_a_terminal(cluster: memory.MemoryCluster) -> None:
    declined = run(cluster, "rebuild", tty=True, answer="n\n")
    assert declined.exit_code == 1
    assert "Continue? [y/N]" in declined.output
    assert cluster.calls.cache_writes == 0
    accepted = run(cluster, "rebuild", tty=True, answer="y\n")
    assert accepted.exit_code == 0
    assert cluster.calls.cache_writes == 1


def test_dry_run_rebuild_prints_the_diff_and_writes_nothing(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "--dry-run", "rebuild")
    assert result.exit_code == 0
    assert f"+ {API}" in result.output
    assert cluster.calls.cache_writes == 0


def test_select_exit_codes(cluster: memory.MemoryCluster) -> None:
    assert run(cluster, "select", API).exit_code == 2  # no cache yet: cannot tell
    run(cluster, "rebuild", "--force")
    found = run(cluster, "select", API)
    assert found.exit_code == 0
    assert "deployment/shop/api" in found.output
    assert run(cluster, "select", "nginx:0").exit_code == 1


def test_restart_exit_codes(cluster: memory.MemoryCluster) -> None:
    assert run(cluster, "restart", "-n", "shop", "deployment/api").exit_code == 0
    cluster.add(Kind.DEPLOYMENT, "shop", "frozen", API, paused=True, pull_policy="Always")
    partial = run(cluster, "restart", "shop/deployment/api", "shop/deploy/frozen")
    assert partial.exit_code == 3
    assert "Failed deployment: shop/frozen" in partial.output
    assert run(cluster, "restart", "shop/deployment/frozen").exit_code == 1
    assert run(cluster, "restart", "shop/cronjob/x").exit_code == 2
    assert run(cluster, "restart", "shop/deployment/missing").exit_code == 1


def test_restart_by_image_with_nothing_selected_is_exit_1(cluster: memory.MemoryCluster) -> None:
    run(cluster, "rebuild", "--force")
    result = run(cluster, "restart", "--image", "nginx:0")
    assert result.exit_code == 1
    assert "no workload runs" in result.output


def test_dry_run_restart_prints_what_it_would_do(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "--dry-run", "restart", "shop/deployment/api")
    assert result.exit_code == 0
    assert "[dry-run] Would restart deployment: shop/api" in result.output
    assert (
        cluster.workload(workloads.WorkloadRef(Kind.DEPLOYMENT, "shop", "api")).restarted_at is None
    )


def test_max_targets_guard_from_the_command_line(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "orchestrate", "--image", API, "--max-targets", "1")
    assert result.exit_code == 2
    assert "more than --max-targets 1" in result.output
    assert cluster.calls.patches == []


def test_orchestrate_json_output_is_one_object_with_the_exit_code(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "--output", "json", "orchestrate", "--image", API)
    payload = json.loads(result.output)
    assert payload["exit_code"] == result.exit_code == 0
    assert payload["command"] == "orchestrate"
    assert {t["name"] for t in payload["restart"]["targets"]} == {"api", "worker"}


def test_json_output_of_an_error_is_json(cluster: memory.MemoryCluster) -> None:
    cluster.unreachable = True
    result = run(cluster, "-o", "json", "select", API)
    payload = json.loads(result.output)
    assert payload["exit_code"] == result.exit_code == 2
    assert "cannot read the image cache" in payload["error"]


def test_json_progress_events_go_to_stderr_as_json_lines(cluster: memory.MemoryCluster) -> None:
    runtime = main.Runtime(
        environ={},
        connect=lambda _o, _s: cluster,
        clock=clock.FakeClock(),
        stdin_is_tty=lambda: False,
        stderr_is_tty=lambda: False,
    )
    args = ["-o", "json", "--progress", "json", "orchestrate", "--image", API]
    result = CliRunner().invoke(parser.cli, args, obj=runtime)
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"event": "StepFinished", "step": "restart"}.items() <= events[-1].items()
    assert json.loads(result.stdout)["exit_code"] == 0


def test_configuration_file_is_applied_and_flags_override_it(
    cluster: memory.MemoryCluster, tmp_path: Path
) -> None:
    path = tmp_path / "myctl.yaml"
    path.write_text("cache: {namespace: ops, name: images}\nrestart: {max_targets: 1}\n")
    result = run(cluster, "--config", str(path), "rebuild", "--force")
    assert result.exit_code == 0
    assert cluster.read_cache("ops", "images") is not None
    guarded = run(cluster, "orchestrate", "--image", API, environ={"MYCTL_CONFIG": str(path)})
    assert guarded.exit_code == 2
    raised = run(
        cluster,
        "orchestrate",
        "--image",
        API,
        "--max-targets",
        "5",
        environ={"MYCTL_CONFIG": str(path)},
    )
    assert raised.exit_code == 0


def test_invalid_configuration_names_the_key(cluster: memory.MemoryCluster, tmp_path: Path) -> None:
    path = tmp_path / "myctl.yaml"
    path.write_text("restart: {concurrency: -1}\n")
    result = run(cluster, "--config", str(path), "check")
    assert result.exit_code == 2
    assert "restart.concurrency" in result.output


def test_unreachable_cluster_is_exit_2(cluster: memory.MemoryCluster) -> None:
    def refuse(_options: object, _settings: object) -> memory.MemoryCluster:
        raise errors.ClusterUnreachable("cannot load kubeconfig /nope: no such file")

    runtime = main.Runtime(environ={}, connect=refuse, stdin_is_tty=lambda: False)
    result = CliRunner().invoke(parser.cli, ["check"], obj=runtime)
    assert result.exit_code == 2
    assert "cannot load kubeconfig" in result.output


def test_parse_only_returns_the_invocation_for_other_front_doors() -> None:
    parsed = parser.parse(["--dry-run", "orchestrate", "--image", f"nginx@sha256:{'c' * 64}"])
    assert parsed.command == "orchestrate" and parsed.options.dry_run
    assert str(parsed.image_refs[0]) == f"docker.io/library/nginx@sha256:{'c' * 64}"
    with pytest.raises(errors.UsageError, match="No such option"):
        parser.parse(["check", "--nope"])


def test_an_empty_cluster_is_nothing_to_do() -> None:
    empty = memory.MemoryCluster()
    rebuilt = run(empty, "rebuild", "--force")
    assert rebuilt.exit_code == 0
    assert "0 images, 0 workloads" in rebuilt.output
    result = run(empty, "orchestrate", "--image", API)
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_cli_runs_are_audited_when_a_state_store_is_configured(
    cluster: memory.MemoryCluster, tmp_path: Path
) -> None:
    from commands.state import store as state_store

    url = f"sqlite:///{tmp_path / 'state.db'}"
    environ = {"MYCTL_STATE_URL": url, "USER": "alice"}
    assert run(cluster, "restart", "shop/deployment/api", environ=environ).exit_code == 0
    assert run(cluster, "select", API, environ=environ).exit_code == 2
    with state_store.StateStore(url) as store:
        runs = store.latest_runs(10)
    assert [(r.command, r.exit_code, r.source, r.user) for r in runs] == [
        ("select", 2, "cli", "alice"),
        ("restart", 0, "cli", "alice"),
    ]
    assert runs[1].summary == "restarted 1 of 1 workloads (not verified: no --wait)"
