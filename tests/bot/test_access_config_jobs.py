"""The bot's top-level parts: access policy, approval need, settings from the environment,
the job runner, metrics."""

from __future__ import annotations

import pickle

import pytest

from bot import access, commandline, config, jobs, metrics
from bot.approvals import request
from commands.values import clock, errors, settings

RULE = settings.AccessRule(users=("U1",), usergroups=("S_OPS",), channels=("C_OPS",))


@pytest.mark.parametrize(
    ("command", "rule", "user", "channel", "groups", "allowed"),
    [
        ("check", None, "U9", "C_ANY", (), True),
        ("version", None, "U9", "C_ANY", (), True),
        ("restart", None, "U1", "C_OPS", (), False),
        ("orchestrate", RULE, "U1", "C_OPS", (), True),
        ("orchestrate", RULE, "U9", "C_OPS", ("S_OPS",), True),
        ("orchestrate", RULE, "U9", "C_OPS", ("S_OTHER",), False),
        ("orchestrate", RULE, "U1", "C_ELSEWHERE", (), False),
        ("restart", settings.AccessRule(channels=("C_OPS",)), "U1", "C_OPS", (), False),
        ("check", settings.AccessRule(channels=("C_OPS",)), "U1", "C_OPS", (), True),
        ("check", settings.AccessRule(channels=("C_OPS",)), "U1", "C_X", (), False),
        ("rebuild", settings.AccessRule(users=("U1",)), "U1", "C_ANY", (), True),
    ],
)
def test_access_policy(
    command: str,
    rule: settings.AccessRule | None,
    user: str,
    channel: str,
    groups: tuple[str, ...],
    allowed: bool,
) -> None:
    decision = access.decide(command, rule, user=user, channel=channel, user_groups=groups)
    assert decision.allowed is allowed
    assert bool(decision.reason) is not allowed


def test_group_members_are_cached_for_a_minute() -> None:
    fake = clock.FakeClock()
    fetched: list[str] = []

    def fetch(group: str) -> list[str]:
        fetched.append(group)
        return ["U7"]

    resolver = access.GroupResolver(fetch, fake)
    assert resolver.groups_of("U7", ["S1"]) == {"S1"}
    fake.advance(59)
    assert resolver.groups_of("U8", ["S1"]) == frozenset()
    assert fetched == ["S1"]
    fake.advance(2)
    resolver.groups_of("U7", ["S1"])
    assert fetched == ["S1", "S1"]


def test_unresolvable_group_grants_nothing() -> None:
    def fetch(group: str) -> list[str]:
        raise RuntimeError("slack down")

    resolver = access.GroupResolver(fetch, clock.FakeClock())
    slack = settings.SlackSettings(access=(("restart", settings.AccessRule(usergroups=("S1",))),))
    decision = access.authorize("restart", slack, resolver, user="U7", channel="C1")
    assert not decision.allowed


def test_rebuild_needs_approval_unless_dry_run() -> None:
    approvals = settings.ApprovalSettings()
    assert request.needs_approval(commandline.parse(["rebuild"]), approvals)
    dry = commandline.parse(["--dry-run", "rebuild"])
    assert not request.needs_approval(dry, approvals)
    assert not request.needs_approval(commandline.parse(["restart", "deployment/x"]), approvals)


# --------------------------------------------------------------------------- settings, runner


def test_missing_token_names_the_variable_and_not_the_secret() -> None:
    with pytest.raises(config.MissingSetting) as err:
        config.from_environ({"SLACK_SIGNING_SECRET": "s3cr3t-value"})
    assert "SLACK_BOT_TOKEN" in str(err.value)
    assert "s3cr3t" not in str(err.value)
    assert err.value.exit_code == errors.EXIT_USAGE


def test_settings_defaults_and_repr_without_secrets() -> None:
    parsed = config.from_environ({"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "shh"})
    assert parsed.api_url == "https://slack.com/api/"
    assert (parsed.port, parsed.socket_mode) == (3000, False)
    assert "xoxb-secret" not in repr(parsed) and "shh" not in str(parsed)
    local = config.from_environ(
        {"SLACK_BOT_TOKEN": "t", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://h/api"}
    )
    assert local.api_url == "http://h/api/"


BASE = {"SLACK_BOT_TOKEN": "t", "SLACK_SIGNING_SECRET": "s"}


def test_the_engine_runs_in_niced_processes_unless_told_otherwise() -> None:
    default = config.from_environ(BASE)
    assert (default.engine, default.engine_nice) == ("processes", 10)
    chosen = config.from_environ(
        {**BASE, "MYCTL_BOT_ENGINE": "In-Process", "MYCTL_BOT_ENGINE_NICE": "0"}
    )
    assert (chosen.engine, chosen.engine_nice) == ("in-process", 0)


def test_the_front_process_answers_http_unless_told_otherwise() -> None:
    assert config.from_environ(BASE).front == "process"
    assert config.from_environ({**BASE, "MYCTL_BOT_FRONT": " In-Process "}).front == "in-process"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MYCTL_BOT_ENGINE", "threads"),
        ("MYCTL_BOT_FRONT", "nginx"),
        ("MYCTL_BOT_ENGINE_NICE", "20"),
        ("MYCTL_BOT_ENGINE_NICE", "-5"),
        ("MYCTL_BOT_ENGINE_NICE", "low"),
    ],
)
def test_a_bad_engine_setting_is_a_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(errors.ConfigError, match=name):
        config.from_environ({**BASE, name: value})


def test_errors_survive_the_pipe_to_an_engine_process_as_what_they_are() -> None:
    denied = errors.PermissionDenied("patch", "deployments", "shop", "forbidden")
    back = pickle.loads(pickle.dumps(denied))
    assert type(back) is errors.PermissionDenied and str(back) == str(denied)
    assert (back.verb, back.resource, back.namespace) == ("patch", "deployments", "shop")
    assert back.exit_code == errors.EXIT_USAGE


def test_main_exits_2_when_the_secret_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    from bot import __main__

    assert __main__.run({"SLACK_BOT_TOKEN": "xoxb-do-not-print"}) == errors.EXIT_USAGE
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err
    assert "xoxb-do-not-print" not in err


def test_full_runner_refuses_at_once() -> None:
    import threading

    release = threading.Event()
    runner = jobs.JobRunner(workers=1, queue=1)
    try:
        assert runner.try_submit(release.wait) is not None
        assert runner.try_submit(release.wait) is not None
        assert runner.try_submit(release.wait) is None
        assert runner.depth == 2
    finally:
        release.set()
        runner.shutdown(wait=True)
    assert runner.depth == 0


def test_metrics_render_in_prometheus_text_format() -> None:
    counters = metrics.Metrics()
    counters.command_finished("restart", 3)
    counters.ack_observed(0.02)
    counters.slack_error("chat.update", "ratelimited")
    text = counters.render()
    assert 'myctl_bot_commands_total{command="restart",exit_code="3"} 1' in text
    assert 'myctl_bot_ack_seconds_bucket{le="0.025"} 1' in text
    assert 'myctl_bot_ack_seconds_bucket{le="0.01"} 0' in text
    assert 'myctl_bot_slack_api_errors_total{error="ratelimited",method="chat.update"} 1' in text
