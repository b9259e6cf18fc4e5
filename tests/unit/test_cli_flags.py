"""Global flags anywhere (before or after the subcommand), and the rollout flags' usage rules."""

import json

import pytest
from click.testing import CliRunner, Result

from commands.cli import main, parser
from commands.kube import memory
from commands.values import clock, errors, workloads

Kind = workloads.Kind
API = "registry.example.com/team/api:1.4.2"
DIGEST = "sha256:" + "c" * 64


@pytest.fixture
def cluster() -> memory.MemoryCluster:
    c = memory.MemoryCluster()
    c.add(Kind.DEPLOYMENT, "demo", "web", API)  # the API server's default pull policy
    return c


def run(cluster: memory.MemoryCluster, *args: str) -> Result:
    runtime = main.Runtime(
        environ={},
        connect=lambda _options, _settings: cluster,
        clock=clock.FakeClock(),
        stdin_is_tty=lambda: False,
        stderr_is_tty=lambda: False,
    )
    return CliRunner().invoke(parser.cli, list(args), obj=runtime)


def test_rebuild_dry_run_after_the_subcommand_shows_the_diff_and_writes_nothing(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "rebuild", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "[dry-run] would write cache" in result.output and f"+ {API}" in result.output
    assert cluster.calls.cache_writes == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["orchestrate", "--image", "nginx:1.27", "--dry-run"],
        ["restart", "deployment/web", "-n", "demo", "--dry-run"],
        ["check", "--dry-run"],
    ],
)
def test_dry_run_is_accepted_after_every_subcommand(
    cluster: memory.MemoryCluster, argv: list[str]
) -> None:
    assert parser.parse(argv).options.dry_run is True
    assert run(cluster, *argv).exit_code in (0, 1)
    assert all(dry for _ref, dry in cluster.calls.patches)


def test_every_global_flag_means_the_same_before_and_after() -> None:
    flags = [
        "--dry-run",
        "--output", "json",
        "--progress", "none",
        "--kubeconfig", "/k",
        "--context", "ctx",
        "--config", "/c.yaml",
        "--cache-namespace", "ops",
        "--cache-name", "imgs",
    ]  # fmt: skip
    before = parser.parse([*flags, "select", API]).options
    after = parser.parse(["select", API, *flags]).options
    assert before == after
    assert (after.output, after.cache_name, after.kubeconfig) == ("json", "imgs", "/k")


def test_the_same_flag_twice_with_different_values_is_a_usage_error_naming_it() -> None:
    with pytest.raises(errors.UsageError, match="--output given twice"):
        parser.parse(["-o", "json", "check", "-o", "text"])
    assert parser.parse(["-o", "json", "check", "-o", "json"]).options.output == "json"


def test_every_subcommand_help_shows_the_global_flags() -> None:
    for command in parser.cli.commands:
        assert "--dry-run" in parser.usage_text(command), command
        assert "--cache-name" in parser.usage_text(command), command


def test_output_json_after_the_subcommand_prints_one_object(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "orchestrate", "--image", API, "-o", "json")
    payload = json.loads(result.output)
    assert payload["exit_code"] == result.exit_code == 1  # default pull policy: not rolled out
    assert payload["restart"]["targets"][0]["outcome"] == "stale-pull"


def test_a_malformed_expected_digest_is_exit_2_and_changes_nothing(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "orchestrate", "--image", API, "--expect-digest", "sha256:nope")
    assert result.exit_code == 2 and "--expect-digest" in result.output
    assert cluster.calls.patches == [] and cluster.calls.cache_writes == 0


def test_pin_digest_needs_a_digest_to_pin(cluster: memory.MemoryCluster) -> None:
    result = run(cluster, "orchestrate", "--image", API, "--pin-digest")
    assert result.exit_code == 2 and "--pin-digest needs the digest" in result.output


def test_expect_digest_goes_with_exactly_one_image() -> None:
    with pytest.raises(errors.UsageError, match="exactly one --image"):
        parser.parse(
            ["orchestrate", "--image", API, "--image", "nginx:1", "--expect-digest", DIGEST]
        )


def test_an_image_with_tag_and_digest_carries_the_expected_digest() -> None:
    inv = parser.parse(["orchestrate", "--image", f"{API}@{DIGEST}", "--pin-digest"])
    assert [str(ref) for ref in inv.image_refs] == [API]
    assert inv.restart.expected_digests == ((API, DIGEST),) and inv.restart.pin_digest


def test_default_pull_policy_orchestrate_exits_1_and_leads_with_the_fix(
    cluster: memory.MemoryCluster,
) -> None:
    result = run(cluster, "orchestrate", "--image", API)
    assert result.exit_code == 1
    lines = [
        line
        for line in result.output.splitlines()
        if not line.startswith(("check:", "rebuild:", "select:"))
    ]
    assert lines[0].startswith("warning: Not rolled out") and "--pin-digest" in lines[0]
    assert "Not restarted deployment: demo/web" in result.output


def test_rollback_takes_the_run_id_alone_or_as_run() -> None:
    assert parser.parse(["rollback", "6f1c"]).run_id == "6f1c"
    assert parser.parse(["rollback", "--run", "6f1c"]).run_id == "6f1c"
    assert parser.parse(["rollback", "6f1c", "--run", "6f1c"]).run_id == "6f1c"
    assert parser.parse(["rollback"]).run_id is None
    with pytest.raises(errors.UsageError, match="two runs to undo"):
        parser.parse(["rollback", "6f1c", "--run", "9a9a"])
