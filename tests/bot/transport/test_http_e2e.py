"""`/myctl` end to end over HTTP on the real local control plane: rollouts, their outcomes.

Each test starts the bot in-process exactly as `myctl-bot` does (tests/bot/transport/bots.py),
points it at a fresh SlackEmulator, and asserts on what Slack would have received and on the
cluster. What needs no cluster (signatures, refusals, fallbacks, health) is in test_http.py.
"""

from __future__ import annotations

import pytest
import requests
from kubernetes import client as k8s_client

from tests.bot.transport.bots import (
    ACK_BUDGET,
    IMAGE,
    BotFactory,
    create,
    deployment,
    restarted_at,
    slash,
)
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slack, pytest.mark.kube]


# --------------------------------------------------------------------------- HTTP: exit codes


def test_orchestrate_over_http_restarts_and_ends_with_a_check_mark(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("api"), deployment("worker"))
    running = http_bot()

    answer = slash(
        running,
        f"—cache-namespace {kube_namespace} orchestrate —image {IMAGE} -n {kube_namespace} "
        "--wait --timeout 60s",
    )

    assert answer.status_code == 200
    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":white_check_mark: restarted 2 of 2 workloads")
    assert f"{kube_namespace}/api (rollout complete)" in message.all_text()
    assert message.updates >= 2, "progress updates before the final one"
    assert message.history[0]["text"].startswith(":hourglass_flowing_sand:")
    assert len(slack_emulator.calls_to("chat.postMessage")) == 1
    assert restarted_at(kube_admin, kube_namespace, "api") is not None
    assert slack_emulator.violations == []


def test_stuck_rollout_over_http_ends_with_a_cross(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("stuck", never_ready=True))
    running = http_bot()

    answer = slash(running, f"restart deployment/stuck -n {kube_namespace} --wait --timeout 3s")

    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":x: restarted 0, failed 1 of 1 workloads")
    assert "timed out" in message.all_text()
    assert message.updates >= 2
    assert slack_emulator.violations == []


def test_select_without_a_cache_ends_with_a_warning(
    http_bot: BotFactory, slack_emulator: SlackEmulator, kube_namespace: str
) -> None:
    running = http_bot()

    answer = slash(
        running, f"--cache-namespace {kube_namespace} select {IMAGE} -n {kube_namespace}"
    )

    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":warning:")
    assert "cache" in message.text
    assert message.history, "the run's message was posted before the outcome"


def test_paused_target_makes_orchestrate_partial(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(
        kube_admin,
        kube_namespace,
        deployment("api"),
        deployment("worker"),
        deployment("frozen", paused=True),
    )
    running = http_bot()

    answer = slash(
        running,
        f"--cache-namespace {kube_namespace} orchestrate --image {IMAGE} -n {kube_namespace} "
        "--wait --timeout 60s",
    )

    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":large_orange_circle: restarted 2, failed 1 of 3 workloads")
    assert "is paused" in message.all_text()
    assert message.updates >= 2
    assert restarted_at(kube_admin, kube_namespace, "frozen") is None
    assert restarted_at(kube_admin, kube_namespace, "worker") is not None


def test_dry_run_from_slack_changes_nothing(
    http_bot: BotFactory, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    create(kube_admin, kube_namespace, deployment("api"))
    running = http_bot()

    slash(running, f"--dry-run restart deployment/api -n {kube_namespace}")

    message = running.final_message()
    assert message.text.startswith(":white_check_mark: [dry-run] would restart 1 of 1")
    assert restarted_at(kube_admin, kube_namespace, "api") is None


def test_readiness_reports_the_api_server_it_reached(http_bot: BotFactory) -> None:
    running = http_bot()

    ready = requests.get(running.url("/readyz"), timeout=5)

    assert ready.status_code == 200, ready.text
    assert "kubernetes v1." in ready.text
