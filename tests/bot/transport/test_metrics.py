"""`/metrics` on prometheus-client after real runs, and a draining replica, over HTTP on the
in-memory cluster (nothing here needs Kubernetes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot import app as app_mod
from bot import config as config_mod
from bot import metrics
from commands.kube import port
from commands.values import errors
from tests.bot.transport import bots
from tests.bot.transport.bots import BotFactory, RunningBot, slash
from tests.support import polling
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.slack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(running: RunningBot) -> Samples:
    text = requests.get(running.url("/metrics"), timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_commands_and_step_durations_move_after_real_runs(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    before = _samples(running)

    slash(running, "check")
    running.final_message()
    commands = "myctl_bot_commands_total"
    # Counted once the job returns, just after its final message: polled, not raced.
    polling.wait_until(
        lambda: _value(_samples(running), commands, command="check", exit_code="1") == 1,
        timeout=10,
        what="the command counted",
    )
    after = _samples(running)

    assert _value(before, commands, command="check", exit_code="1") == 0
    assert _value(after, commands, command="check", exit_code="1") == 1  # no cache in memory
    assert _value(after, "myctl_bot_step_seconds_count", step="check") == 1
    assert _value(after, "myctl_bot_step_seconds_sum", step="check") > 0
    assert _value(after, "myctl_bot_ack_seconds_count") == 1
    assert _value(after, "myctl_bot_job_queue_depth") == 0


def test_a_draining_replica_is_not_ready_and_answers_busy(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    assert requests.get(running.url("/readyz"), timeout=5).status_code == 200
    runner = running.bot.services.runner

    runner.drain()
    answer = slash(running, "check")

    ready = requests.get(running.url("/readyz"), timeout=5)
    assert ready.status_code == 503 and ready.text.startswith("stopping")
    assert answer.status_code == 200
    assert answer.json()["response_type"] == "ephemeral"
    assert "busy" in answer.json()["text"]
    assert runner.draining and not runner.has_room()
    after = _samples(running)
    assert _value(after, "myctl_bot_job_rejections_total", reason="draining") == 1
    assert _value(after, "myctl_bot_commands_total", command="check", exit_code="1") == 1
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_each_bot_has_its_own_registry() -> None:
    first, second = metrics.Metrics(), metrics.Metrics()

    first.command_finished("check", 0)
    first.approval("cancelled")
    first.report_posted("morning")
    first.kube_error("PermissionDenied")

    assert first.commands_total("check", 0) == 1 and second.commands_total("check", 0) == 0
    text = first.render()
    assert 'myctl_bot_approvals_total{outcome="cancelled"} 1' in text.splitlines()
    assert 'myctl_bot_reports_posted_total{schedule="morning"} 1' in text.splitlines()
    assert 'myctl_bot_kube_api_errors_total{kind="PermissionDenied"} 1' in text.splitlines()
    assert 'outcome="cancelled"' not in second.render()


def test_a_kubernetes_api_that_does_not_answer_is_counted_and_not_ready(
    slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    def unreachable() -> port.Cluster:
        raise errors.ClusterUnreachable("no API server answers at https://127.0.0.1:1")

    config = config_mod.from_environ(bots.bot_environment(slack_emulator, None, tmp_path))
    bot = app_mod.build(config, connect=unreachable)
    try:
        ready, reason = bot.ready.check()
        text = bot.services.metrics.render()
    finally:
        bot.close()

    assert not ready and reason == "kubernetes: API server does not answer"
    assert 'myctl_bot_kube_api_errors_total{kind="ClusterUnreachable"} 1' in text.splitlines()
