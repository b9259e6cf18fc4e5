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
    push_after_settled,
    restarted_at,
    slash,
)
from tests.support import fake_kubelet as kubelet_mod
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slack, pytest.mark.kube]


# --------------------------------------------------------------------------- HTTP: exit codes


def test_orchestrate_over_http_restarts_and_ends_with_a_check_mark(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    fake_kubelet: kubelet_mod.FakeKubelet,
) -> None:
    image = f"registry.example.com/{kube_namespace}/api:1.4.2"
    create(kube_admin, kube_namespace, deployment("api", image), deployment("worker", image))
    push_after_settled(kube_admin, kube_namespace, ("api", "worker"), fake_kubelet, image)
    running = http_bot()

    answer = slash(
        running,
        f"—cache-namespace {kube_namespace} orchestrate —image {image} -n {kube_namespace} "
        "--wait --timeout 60s",
    )

    assert answer.status_code == 200
    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":white_check_mark: rolled out 2 of 2 workloads")
    assert f"{kube_namespace}/api: updated `sha256:" in message.all_text()
    # Watched rollouts finish within the 1 s update throttle here: posted, then updated.
    assert message.updates >= 1, "the progress message was updated in place"
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
    assert message.text.startswith(":x: rolled out 0, failed 1 of 1 workloads")
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
    fake_kubelet: kubelet_mod.FakeKubelet,
) -> None:
    image = f"registry.example.com/{kube_namespace}/api:1.4.2"
    create(
        kube_admin,
        kube_namespace,
        deployment("api", image),
        deployment("worker", image),
        deployment("frozen", image, paused=True),
    )
    push_after_settled(kube_admin, kube_namespace, ("api", "worker"), fake_kubelet, image)
    running = http_bot()

    answer = slash(
        running,
        f"--cache-namespace {kube_namespace} orchestrate --image {image} -n {kube_namespace} "
        "--wait --timeout 60s",
    )

    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":large_orange_circle: rolled out 2, failed 1 of 3 workloads")
    assert "is paused" in message.all_text()
    assert message.updates >= 1
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


# --------------------------------------------------------------------------- truthful outcomes


def test_rebuild_dry_run_after_the_subcommand_shows_the_diff_and_writes_nothing(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("api"))
    running = http_bot()

    answer = slash(
        running, f"rebuild --dry-run -n {kube_namespace} --cache-namespace {kube_namespace}"
    )

    assert answer.elapsed_seconds < ACK_BUDGET
    message = running.final_message()
    assert message.text.startswith(":white_check_mark: [dry-run] would write cache")
    assert f"+ {IMAGE}" in message.all_text()
    assert not any("Approve" in str(m.blocks) for m in slack_emulator.messages.values())
    configmaps = k8s_client.CoreV1Api(kube_admin).list_namespaced_config_map(kube_namespace)
    assert [cm.metadata.name for cm in configmaps.items if "myctl" in cm.metadata.name] == []


def test_default_pull_policy_orchestrate_ends_with_a_cross_naming_workloads_and_fixes(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    fake_kubelet: kubelet_mod.FakeKubelet,
) -> None:
    image = f"registry.example.com/{kube_namespace}/web:2.0"
    body = deployment("web", image)
    del body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]  # as people write it
    create(kube_admin, kube_namespace, body)
    push_after_settled(kube_admin, kube_namespace, ("web",), fake_kubelet, image)
    running = http_bot()

    slash(
        running,
        f"orchestrate --image {image} -n {kube_namespace} --cache-namespace {kube_namespace}",
    )

    message = running.final_message()
    assert message.text.startswith(":x:")
    text = message.all_text()
    assert f"{kube_namespace}/deployment/web (IfNotPresent)" in text
    assert "--pin-digest" in text and "imagePullPolicy: Always" in text
    assert restarted_at(kube_admin, kube_namespace, "web") is None  # nothing patched
    assert slack_emulator.violations == []
