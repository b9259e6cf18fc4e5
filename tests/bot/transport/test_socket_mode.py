"""`/myctl` end to end over Socket Mode, and the ack budget under load (HTTP).

Helpers (deployments, the bot's environment, the final-message wait) come from bots.py so
both transports are driven the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import socket_mode
from tests.bot.transport.bots import (
    ACK_BUDGET,
    IMAGE,
    OUTCOMES,
    RUN_DEADLINE,
    BotFactory,
    RunningBot,
    bot_environment,
    create,
    deployment,
    restarted_at,
    slash,
)
from tests.support import controlplane as cp
from tests.support.slack_driver import slash_command_payload
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slack, pytest.mark.kube]


@pytest.fixture
def socket_bot(
    slack_emulator: SlackEmulator, control_plane: cp.ControlPlane, tmp_path: Path
) -> Iterator[RunningBot]:
    config = config_mod.from_environ(
        bot_environment(slack_emulator, control_plane, tmp_path, socket_mode="1")
    )
    assert config.socket_mode
    bot = app_mod.build(config)
    # A 1 s connection check keeps the reconnect test short; production uses the default.
    handler = socket_mode.handler(bot, config, ping_interval=1)
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        slack_emulator.wait_for(slack_emulator.socket_connection_count)
        yield RunningBot(bot, slack_emulator)
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        bot.close()


def send(emulator: SlackEmulator, text: str, **kwargs: Any) -> str:
    return emulator.socket_send_slash_command(slash_command_payload(text, **kwargs))


def test_socket_mode_connection_is_opened_through_slack_api_url(
    socket_bot: RunningBot, slack_emulator: SlackEmulator
) -> None:
    opened = slack_emulator.calls_to("apps.connections.open")
    assert opened, "the connection was opened via the emulator, not slack.com"
    assert opened[0].headers["Authorization"] == "Bearer xapp-test-app"


@pytest.mark.parametrize(
    ("setup", "text", "emoji"),
    [
        ("ok", "restart deployment/api -n {ns}", ":white_check_mark:"),
        ("ok", "--cache-namespace {ns} check -n {ns}", ":x:"),
        ("ok", "--cache-namespace {ns} select nginx:1 -n {ns}", ":warning:"),
        ("paused", "restart deployment/api deployment/frozen -n {ns}", ":large_orange_circle:"),
    ],
    ids=["exit-0", "exit-1", "exit-2", "exit-3"],
)
def test_socket_mode_run_ends_with_the_emoji_of_its_exit_code(
    socket_bot: RunningBot,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    setup: str,
    text: str,
    emoji: str,
) -> None:
    create(kube_admin, kube_namespace, deployment("api"))
    if setup == "paused":
        create(kube_admin, kube_namespace, deployment("frozen", paused=True))

    envelope = send(slack_emulator, text.format(ns=kube_namespace))

    assert slack_emulator.wait_for_ack(envelope) < ACK_BUDGET
    message = socket_bot.final_message()
    assert message.text.startswith(emoji)
    assert message.updates >= 1  # posted as progress, then updated with the outcome
    assert message.history[0]["text"].startswith(":hourglass_flowing_sand:")


def test_socket_mode_usage_error_is_answered_in_the_ack(
    socket_bot: RunningBot, slack_emulator: SlackEmulator
) -> None:
    envelope = send(slack_emulator, "orchestrate")  # --image is required

    slack_emulator.wait_for_ack(envelope)
    payload = slack_emulator.acks[envelope].payload
    assert payload is not None
    assert payload["response_type"] == "ephemeral"
    assert payload["text"].startswith(":warning:")
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_socket_mode_reconnects_after_a_dropped_connection(
    socket_bot: RunningBot,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("api"))
    assert slack_emulator.socket_drop_connections() == 1

    slack_emulator.wait_for(lambda: slack_emulator.socket_connects >= 2, timeout=15)
    envelope = send(slack_emulator, f"restart deployment/api -n {kube_namespace}")

    assert slack_emulator.wait_for_ack(envelope) < ACK_BUDGET
    assert socket_bot.final_message().text.startswith(":white_check_mark: restarted 1 of 1")
    assert restarted_at(kube_admin, kube_namespace, "api") is not None
    assert len(slack_emulator.calls_to("apps.connections.open")) >= 2


# --------------------------------------------------------------------------- load

# More long runs than bolt's listener executor has threads (5 in slack_bolt 1.30, 10 in its
# documentation); each holds a job worker for the whole --timeout.
LONG_RUNS = 12
LONG_TIMEOUT = "15s"


def test_ack_stays_fast_while_more_long_runs_than_listener_threads_are_running(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("stuck", never_ready=True))
    # Every long run gets a worker, one command may wait, the next finds the runner full.
    running = http_bot(MYCTL_BOT_JOB_WORKERS=str(LONG_RUNS), MYCTL_BOT_JOB_QUEUE="1")
    long_run = f"restart deployment/stuck -n {kube_namespace} --wait --timeout {LONG_TIMEOUT}"

    long_acks = [slash(running, long_run).elapsed_seconds for _ in range(LONG_RUNS)]
    slack_emulator.wait_for(
        lambda: len(slack_emulator.calls_to("chat.postMessage")) == LONG_RUNS, timeout=30
    )
    queued = slash(running, "version")
    busy = slash(running, "version")

    assert max(long_acks) < ACK_BUDGET
    assert queued.elapsed_seconds < ACK_BUDGET
    assert queued.body == ""  # accepted: it runs when a worker is free
    assert busy.elapsed_seconds < ACK_BUDGET
    assert busy.json()["text"].startswith(":hourglass: myctl is busy")

    def all_finished() -> bool:
        finals = [m for m in slack_emulator.messages_in("C_OPS") if m.text.startswith(OUTCOMES)]
        return len(finals) == LONG_RUNS + 1

    slack_emulator.wait_for(all_finished, timeout=RUN_DEADLINE)
    texts = [m.text for m in slack_emulator.messages_in("C_OPS")]
    assert sum(t.startswith(":x:") for t in texts) == LONG_RUNS
    assert any(t.startswith(":white_check_mark: myctl 0.1.0") for t in texts)


def test_slack_calls_per_run_do_not_grow_with_the_number_of_workloads(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    names = [f"svc-{i:02d}" for i in range(30)]
    create(kube_admin, kube_namespace, *(deployment(name) for name in names))
    running = http_bot()

    slash(
        running,
        f"--cache-namespace {kube_namespace} orchestrate --image {IMAGE} -n {kube_namespace}",
    )

    message = running.final_message()
    assert message.text.startswith(":white_check_mark: restarted 30 of 30 workloads")
    run_calls = [c for c in slack_emulator.calls if c.method.startswith("chat.")]
    # One post, a final update, and at most one progress update per second of the run.
    elapsed = run_calls[-1].timestamp - run_calls[0].timestamp
    assert len(run_calls) <= 2 + int(elapsed) + 1
    # 30 names > the inline limit: the message summarizes and the full list is attached.
    assert "full list attached" in message.all_text()
    # The file follows the final update (the outcome is shown first).
    files = slack_emulator.wait_for(
        lambda: [f for f in slack_emulator.files.values() if f.completed], timeout=10
    )
    assert len(files) == 1
    assert files[0].thread_ts == message.ts
    assert files[0].content is not None and b"svc-29" in files[0].content
    assert slack_emulator.violations == []
