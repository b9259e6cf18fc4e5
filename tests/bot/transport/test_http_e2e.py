"""`/myctl` end to end: signed requests (HTTP) or envelopes (Socket Mode) in, the Slack
emulator out, the real local control plane underneath.

Each test starts the bot in-process exactly as `myctl-bot` does (configuration from the
environment, our HTTP server on port 0 or the Socket Mode handler), points it at a fresh
SlackEmulator, and asserts on what Slack would have received.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client as k8s_client

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http as http_server
from tests.support import controlplane as cp
from tests.support import slack_blocks
from tests.support.slack_driver import Forgery, SlackDriver
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET, slack_environment

pytestmark = [pytest.mark.slack, pytest.mark.kube]

IMAGE = "registry.example.com/team/api:1.4.2"
OUTCOMES = (":white_check_mark:", ":x:", ":warning:", ":large_orange_circle:")
ACK_BUDGET = 3.0
# Seconds a run may take: a rollout on the local control plane settles in a few seconds.
RUN_DEADLINE = 60.0


# --------------------------------------------------------------------------- cluster helpers


def deployment(
    name: str, image: str = IMAGE, *, paused: bool = False, never_ready: bool = False
) -> dict[str, Any]:
    labels = {"app": name}
    pod_labels = {**labels, **({"myctl.test/never-ready": "true"} if never_ready else {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "paused": paused,
            # Short deadline so a stuck rollout is visibly stuck; --timeout bounds our wait.
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "containers": [
                        # Always: with IfNotPresent and a tag a restart pulls nothing new, and
                        # myctl rightly skips it.
                        {"name": "app", "image": image, "imagePullPolicy": "Always"}
                    ]
                },
            },
        },
    }


def create(api: k8s_client.ApiClient, namespace: str, *bodies: dict[str, Any]) -> None:
    apps = k8s_client.AppsV1Api(api)
    for body in bodies:
        apps.create_namespaced_deployment(namespace, body)


def restarted_at(api: k8s_client.ApiClient, namespace: str, name: str) -> str | None:
    obj = k8s_client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    annotations = obj.spec.template.metadata.annotations or {}
    value = annotations.get("kubectl.kubernetes.io/restartedAt")
    return str(value) if value else None


# --------------------------------------------------------------------------- the bot under test

ACCESS_CONFIG = """
slack:
  access:
    orchestrate: {users: [U_REQ]}
    restart: {users: [U_REQ]}
    rebuild: {users: [U_REQ]}
"""


@dataclass
class RunningBot:
    bot: app_mod.Bot
    emulator: SlackEmulator
    driver: SlackDriver | None = None

    def final_message(self, channel: str = "C_OPS", timeout: float = RUN_DEADLINE) -> Message:
        """The run's message once its final update (an outcome emoji) has arrived."""

        def done() -> Message | None:
            for message in self.emulator.messages_in(channel):
                if message.text.startswith(OUTCOMES):
                    return message
            return None

        try:
            return self.emulator.wait_for(done, timeout=timeout)
        except TimeoutError as exc:
            calls = [(c.method, c.status, c.response.get("error")) for c in self.emulator.calls]
            texts = [m.text for m in self.emulator.messages.values()]
            raise AssertionError(f"no final message; calls {calls}; messages {texts}") from exc


def bot_environment(
    emulator: SlackEmulator, plane: cp.ControlPlane, tmp_path: Path, **extra: str
) -> dict[str, str]:
    config_file = tmp_path / "myctl.yaml"
    config_file.write_text(textwrap.dedent(ACCESS_CONFIG))
    return {
        **slack_environment(emulator, socket_mode=extra.pop("socket_mode", "") == "1"),
        "PORT": "0",
        "KUBECONFIG": str(plane.kubeconfig),
        "MYCTL_CONFIG": str(config_file),
        "MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        **extra,
    }


BotFactory = Callable[..., RunningBot]


@pytest.fixture
def http_bot(
    slack_emulator: SlackEmulator, control_plane: cp.ControlPlane, tmp_path: Path
) -> Iterator[BotFactory]:
    started: list[tuple[app_mod.Bot, http_server.HttpServer, SlackDriver]] = []

    def start(**extra: str) -> RunningBot:
        config = config_mod.from_environ(
            bot_environment(slack_emulator, control_plane, tmp_path, **extra)
        )
        bot = app_mod.build(config)
        server = http_server.HttpServer(bot, config.port, host="127.0.0.1").start()
        driver = SlackDriver(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET)
        started.append((bot, server, driver))
        return RunningBot(bot, slack_emulator, driver)

    yield start
    for bot, server, driver in started:
        driver.close()
        server.stop()
        bot.close()


def slash(running: RunningBot, text: str, **kwargs: Any) -> Any:
    assert running.driver is not None
    kwargs.setdefault("response_url", running.emulator.new_response_url())
    return running.driver.slash_command(text, **kwargs)


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


def test_usage_error_over_http_is_an_ephemeral_warning_and_runs_nothing(
    http_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = http_bot()

    answer = slash(running, "restart --bogus-flag deployment/x")

    assert answer.status_code == 200
    assert answer.elapsed_seconds < ACK_BUDGET
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(":warning:")
    assert "--bogus-flag" in body["text"]
    assert "Usage: myctl restart" in slack_blocks.texts(body["blocks"])[1]
    assert slack_emulator.calls_to("chat.postMessage") == []
    metrics = requests.get(_url(running, "/metrics"), timeout=5).text
    assert 'myctl_bot_commands_total{command="usage",exit_code="2"} 1' in metrics


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


# --------------------------------------------------------------------------- HTTP: safety


@pytest.mark.parametrize("forgery", [f for f in Forgery if f is not Forgery.NONE])
def test_unverifiable_requests_are_refused_and_run_nothing(
    http_bot: BotFactory, slack_emulator: SlackEmulator, forgery: Forgery
) -> None:
    running = http_bot()

    answer = slash(running, "version", forgery=forgery)

    assert answer.status_code == 401
    assert slack_emulator.calls_to("chat.postMessage") == []
    assert slack_emulator.responses == []


def test_unauthorized_mutating_command_is_refused_ephemerally(
    http_bot: BotFactory,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    create(kube_admin, kube_namespace, deployment("api"))
    running = http_bot()

    answer = slash(running, f"restart deployment/api -n {kube_namespace}", user_id="U_OTHER")

    assert answer.elapsed_seconds < ACK_BUDGET
    _, body = slack_emulator.wait_for(lambda: slack_emulator.responses)[0]
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(":warning: You may not run `myctl restart`")
    assert slack_emulator.calls_to("chat.postMessage") == []
    assert restarted_at(kube_admin, kube_namespace, "api") is None


def test_rebuild_without_approvers_is_refused_instead_of_posting_an_unapprovable_request(
    http_bot: BotFactory, slack_emulator: SlackEmulator, kube_namespace: str
) -> None:
    running = http_bot()

    slash(running, f"--cache-namespace {kube_namespace} rebuild -n {kube_namespace}")

    _, body = slack_emulator.wait_for(lambda: slack_emulator.responses)[0]
    assert body["text"].startswith(":warning: `rebuild` needs approval, and nobody could")
    assert "slack.approvals.approvers" in body["text"]
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_not_in_channel_delivers_the_outcome_via_response_url(
    http_bot: BotFactory, slack_emulator: SlackEmulator, kube_namespace: str
) -> None:
    slack_emulator.channels_not_joined = {"C_PRIVATE"}
    running = http_bot()

    slash(
        running,
        f"--cache-namespace {kube_namespace} check -n {kube_namespace}",
        channel_id="C_PRIVATE",
    )

    def outcome() -> dict[str, Any] | None:
        for _, body in slack_emulator.responses:
            if str(body.get("text", "")).startswith(OUTCOMES):
                return body
        return None

    body = slack_emulator.wait_for(outcome, timeout=RUN_DEADLINE)
    assert body["text"].startswith(":x: cache needs rebuild")
    assert body["replace_original"] is True
    assert slack_emulator.messages_in("C_PRIVATE") == []
    assert slack_emulator.violations == []


def test_rate_limited_update_is_retried_and_the_run_still_finishes(
    http_bot: BotFactory, slack_emulator: SlackEmulator, kube_namespace: str
) -> None:
    slack_emulator.rate_limit_next("chat.update", times=1, retry_after=1)
    running = http_bot()

    slash(running, f"--cache-namespace {kube_namespace} check -n {kube_namespace}")

    message = running.final_message()
    assert message.text.startswith(":x: cache needs rebuild")
    statuses = [call.status for call in slack_emulator.calls_to("chat.update")]
    assert statuses[0] == 429
    assert 200 in statuses[1:]


def _url(running: RunningBot, path: str) -> str:
    assert running.driver is not None
    return running.driver.app_url.replace("/slack/events", path)


def test_health_readiness_and_metrics_endpoints(
    http_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = http_bot()
    # bolt's start-up token check went to SLACK_API_URL (the emulator), not slack.com.
    assert slack_emulator.calls_to("auth.test")

    assert requests.get(_url(running, "/healthz"), timeout=5).status_code == 200
    ready = requests.get(_url(running, "/readyz"), timeout=5)
    assert ready.status_code == 200, ready.text
    assert "kubernetes v1." in ready.text
    metrics = requests.get(_url(running, "/metrics"), timeout=5)
    assert "# TYPE myctl_bot_ack_seconds histogram" in metrics.text
    assert "myctl_bot_job_queue_depth 0" in metrics.text
