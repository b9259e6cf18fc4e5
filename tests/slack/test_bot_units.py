"""Fast tests of the bot's pure parts: text quirks, throttle, messages, access, settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot import access, config, gate, jobs, messages, metrics, quirks, throttle
from bot.slash import _parse
from commands.cli import dispatch, invocation
from commands.values import clock, errors, events, results, settings, workloads

# --------------------------------------------------------------------------- text quirks


@pytest.mark.parametrize(
    ("typed", "argv"),
    [
        ("orchestrate —image nginx:1.27", ["orchestrate", "--image", "nginx:1.27"]),
        ("restart –n shop deploy/api", ["restart", "-n", "shop", "deploy/api"]),
        ("restart —namespace=shop x", ["restart", "--namespace=shop", "x"]),
        ("select “my image” ‘b’", ["select", "my image", "b"]),
        (
            "select <http://registry.example.com/a:1|registry.example.com/a:1>",
            ["select", "registry.example.com/a:1"],
        ),
        ("select <https://x.io/a>", ["select", "https://x.io/a"]),
        (
            "select nginx@sha256:" + "a" * 64,
            ["select", "nginx@sha256:" + "a" * 64],
        ),
        ("check <@U123|alice> <@W9> <#C42|ops>", ["check", "U123", "W9", "C42"]),
        ("check <!subteam^S77|@oncall>", ["check", "S77"]),
        ("check -l app&amp;x=&lt;y&gt;", ["check", "-l", "app&x=<y>"]),
        ("restart — a", ["restart", "--", "a"]),
        ("", []),
    ],
)
def test_slack_text_quirks_are_undone_before_splitting(typed: str, argv: list[str]) -> None:
    assert quirks.to_argv(typed) == argv


def test_unbalanced_quote_is_a_usage_error() -> None:
    with pytest.raises(errors.UsageError):
        quirks.to_argv('select "nginx')


def test_image_ref_with_digest_parses_through_the_shared_parser() -> None:
    digest = "sha256:" + "b" * 64
    parsed = _parse(f"orchestrate —image registry.example.com/team/api:1.4.2@{digest}")
    assert isinstance(parsed, invocation.Invocation)
    # repo:tag@digest: the tag selects the workloads, the digest is what they must run after.
    assert str(parsed.image_refs[0]) == "registry.example.com/team/api:1.4.2"
    assert parsed.restart.expected_digests == (("registry.example.com/team/api:1.4.2", digest),)


@pytest.mark.parametrize(
    "text", ["--kubeconfig /etc/x check", "--config=/etc/passwd check", "completion bash"]
)
def test_host_options_and_terminal_commands_are_refused_from_slack(text: str) -> None:
    parsed = _parse(text)
    assert isinstance(parsed, messages.Rendered)
    assert parsed.text.startswith(":warning:")


@pytest.mark.parametrize("text", ["", "help", "help restart", "restart --help"])
def test_help_shows_usage_without_a_warning(text: str) -> None:
    parsed = _parse(text)
    assert isinstance(parsed, messages.Rendered)
    assert "Usage: myctl" in parsed.text
    assert not parsed.text.startswith(":warning:")


# --------------------------------------------------------------------------- throttle


class FakeTimers:
    """A `throttle.Schedule` whose timers fire only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], list[bool]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> throttle.Cancel:
        cancelled = [False]
        self.pending.append((delay, callback, cancelled))

        class _Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return _Handle()

    def fire(self) -> None:
        due, self.pending = self.pending, []
        for _, callback, cancelled in due:
            if not cancelled[0]:
                callback()


def make_throttle(
    fake: clock.FakeClock, timers: FakeTimers
) -> tuple[throttle.Throttle[int], list[int]]:
    sent: list[int] = []
    return throttle.Throttle(sent.append, clock=fake, interval=1.0, schedule=timers), sent


def test_updates_within_a_second_are_coalesced_into_the_latest() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()  # the first post

    for state in range(1, 101):
        gate_.offer(state)
    assert sent == []
    assert [round(delay, 3) for delay, _, _ in timers.pending] == [1.0]

    fake.advance(1.0)
    timers.fire()
    assert sent == [100]


def test_at_most_one_send_per_interval_however_many_events() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    for second in range(10):
        for state in range(50):
            gate_.offer(second * 100 + state)
            fake.advance(0.02)
        timers.fire()
    assert len(sent) <= 10
    assert sent[-1] == 949


def test_an_idle_throttle_sends_at_once() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    fake.advance(5)
    gate_.offer(7)
    assert sent == [7]
    assert timers.pending == []


def test_nothing_is_sent_after_close() -> None:
    fake, timers = clock.FakeClock(), FakeTimers()
    gate_, sent = make_throttle(fake, timers)
    gate_.mark_sent()
    gate_.offer(1)
    gate_.close()
    fake.advance(2)
    timers.fire()
    gate_.offer(2)
    assert sent == []


# --------------------------------------------------------------------------- messages


def _restart_result(restarted: int, failed: int) -> results.RestartResult:
    def ref(i: int) -> workloads.WorkloadRef:
        return workloads.WorkloadRef(workloads.Kind.DEPLOYMENT, "shop", f"app-{i:04d}")

    outcomes = [
        results.TargetOutcome(ref(i), events.Outcome.RESTARTED, "restarted")
        for i in range(restarted)
    ] + [
        results.TargetOutcome(
            ref(restarted + i), events.Outcome.FAILED, "is paused; resume it first"
        )
        for i in range(failed)
    ]
    return results.RestartResult(tuple(outcomes))


@pytest.mark.parametrize(
    ("restarted", "failed", "emoji"),
    [(2, 0, ":white_check_mark:"), (0, 2, ":x:"), (2, 1, ":large_orange_circle:")],
)
def test_final_message_begins_with_the_outcome_emoji(
    restarted: int, failed: int, emoji: str
) -> None:
    rendered = messages.final(("restart", "x"), "U1", _restart_result(restarted, failed))
    assert rendered.text.startswith(emoji + " ")
    assert rendered.blocks[0]["text"]["text"].startswith(emoji)


def test_usage_outcome_is_a_warning() -> None:
    rendered = messages.final_error(("select",), "U1", errors.CacheInvalid("no cache"))
    assert rendered.text == ":warning: no cache"


def test_failures_show_their_reasons() -> None:
    rendered = messages.final(("restart",), "U1", _restart_result(1, 1))
    text = "\n".join(b["text"]["text"] for b in rendered.blocks if b["type"] == "section")
    assert "*Failed* (1)" in text and "is paused; resume it first" in text
    assert rendered.attachment is None


def test_long_lists_stay_within_block_kit_limits_and_are_attached() -> None:
    rendered = messages.final(("restart",), "U1", _restart_result(3000, 400))
    assert len(rendered.blocks) <= messages.MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= messages.MAX_SECTION_TEXT
    assert rendered.attachment is not None
    assert rendered.attachment.content.count("\n") >= 3400
    assert "app-3399" in rendered.attachment.content


def test_huge_usage_text_is_cut_to_the_section_limit() -> None:
    rendered = messages.usage_error("Error: x", "u" * 10_000)
    assert all(len(b["text"]["text"]) <= messages.MAX_SECTION_TEXT for b in rendered.blocks)


def test_progress_shows_step_counts_and_warnings() -> None:
    state = messages.Progress(
        argv=("orchestrate", "--image", "x"),
        user="U1",
        step="restart",
        total=10,
        counts=((events.Outcome.RESTARTED, 3), (events.Outcome.FAILED, 1)),
        notes=("a", "b", "c", "d"),
    )
    rendered = messages.progress(state)
    assert rendered.text.startswith(":hourglass_flowing_sand:")
    assert "*restart*: 4/10 (3 restarted, 1 failed)" in rendered.text
    warnings = [b for b in rendered.blocks if b["type"] == "context"]
    assert len(warnings) == messages.MAX_PROGRESS_NOTES


def test_version_result_renders_as_success() -> None:
    assert (
        messages.final(("version",), "U1", dispatch.version()).text
        == ":white_check_mark: myctl 0.1.0"
    )


# --------------------------------------------------------------------------- access


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
    assert gate.needs_approval(invocation.Invocation("rebuild"), approvals)
    dry = invocation.Invocation("rebuild", invocation.GlobalOptions(dry_run=True))
    assert not gate.needs_approval(dry, approvals)
    assert not gate.needs_approval(invocation.Invocation("restart"), approvals)


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
