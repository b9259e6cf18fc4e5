"""`/myctl` over HTTP on the in-memory cluster: signatures, usage errors, refusals, fallbacks,
rate limits and the health endpoints. Nothing here needs Kubernetes, so nothing starts it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import config as config_mod
from bot.transport import socket_mode
from commands.values import clock as clocks
from tests.bot.transport.bots import ACK_BUDGET, OUTCOMES, RUN_DEADLINE, BotFactory, slash
from tests.support import slack_blocks
from tests.support.slack_driver import Forgery
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import slack_environment

pytestmark = pytest.mark.slack


def test_usage_error_over_http_is_an_ephemeral_warning_and_runs_nothing(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()

    answer = slash(running, "restart --bogus-flag deployment/x")

    assert answer.status_code == 200
    assert answer.elapsed_seconds < ACK_BUDGET
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(":warning:")
    assert "--bogus-flag" in body["text"]
    assert "Usage: myctl restart" in slack_blocks.texts(body["blocks"])[1]
    assert slack_emulator.calls_to("chat.postMessage") == []
    metrics = requests.get(running.url("/metrics"), timeout=5).text
    assert 'myctl_bot_commands_total{command="usage",exit_code="2"} 1' in metrics


@pytest.mark.parametrize("forgery", [f for f in Forgery if f is not Forgery.NONE])
def test_unverifiable_requests_are_refused_and_run_nothing(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, forgery: Forgery
) -> None:
    running = fast_bot()

    answer = slash(running, "version", forgery=forgery)

    assert answer.status_code == 401
    assert slack_emulator.calls_to("chat.postMessage") == []
    assert slack_emulator.responses == []


def test_unauthorized_mutating_command_is_refused_ephemerally_and_audited(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()

    answer = slash(running, "restart deployment/api -n shop", user_id="U_OTHER")

    assert answer.elapsed_seconds < ACK_BUDGET
    _, body = slack_emulator.wait_for(lambda: slack_emulator.responses)[0]
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(":warning: You may not run `myctl restart`")
    assert slack_emulator.calls_to("chat.postMessage") == []
    store = running.bot.services.store
    (event,) = store.events_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert (event.kind, event.actor, event.details["command"]) == (
        "authorization.refused",
        "U_OTHER",
        "restart",
    )
    assert running.cluster is not None and running.cluster.calls.patches == []


def test_rebuild_without_approvers_is_refused_instead_of_posting_an_unapprovable_request(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()

    slash(running, "rebuild -n shop")

    _, body = slack_emulator.wait_for(lambda: slack_emulator.responses)[0]
    assert body["text"].startswith(":warning: `rebuild` needs approval, and nobody could")
    assert "slack.approvals.approvers" in body["text"]
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_not_in_channel_delivers_the_outcome_via_response_url(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.channels_not_joined = {"C_PRIVATE"}
    running = fast_bot()

    slash(running, "check -n shop", channel_id="C_PRIVATE")

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
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.rate_limit_next("chat.update", times=1, retry_after=1)
    running = fast_bot()

    slash(running, "check -n shop")

    message = running.final_message()
    assert message.text.startswith(":x: cache needs rebuild")
    statuses = [call.status for call in slack_emulator.calls_to("chat.update")]
    assert statuses[0] == 429
    assert 200 in statuses[1:]


def test_health_readiness_and_metrics_endpoints(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    # bolt's start-up token check went to SLACK_API_URL (the emulator), not slack.com.
    assert slack_emulator.calls_to("auth.test")

    assert requests.get(running.url("/healthz"), timeout=5).status_code == 200
    ready = requests.get(running.url("/readyz"), timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.text.startswith("ok: slack, kubernetes ")
    metrics = requests.get(running.url("/metrics"), timeout=5)
    assert "# TYPE myctl_bot_ack_seconds histogram" in metrics.text
    assert "myctl_bot_job_queue_depth 0" in metrics.text


def test_bolt_does_not_warn_that_the_token_is_unused(
    fast_bot: BotFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # bolt reads SLACK_BOT_TOKEN from the process environment by itself, as in production.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-bot")

    with caplog.at_level("WARNING"):
        fast_bot()

    assert not [r for r in caplog.records if "token will be unused" in r.getMessage()]


def test_ack_latency_is_measured_on_the_apps_clock(fast_bot: BotFactory) -> None:
    # A clock that does not move: arrival and ack on it are the same instant. Mixing it with
    # the process's own monotonic clock would show as a huge or negative latency.
    running = fast_bot(clock=clocks.FakeClock())

    slash(running, "help")

    text = requests.get(running.url("/metrics"), timeout=5).text
    assert "myctl_bot_ack_seconds_sum 0.0" in text.splitlines()
    assert "myctl_bot_ack_seconds_count 1" in text.splitlines()


def test_readiness_fails_and_counts_the_error_when_slack_refuses_the_token(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    slack_emulator.fail_next("auth.test", error="invalid_auth")

    ready = requests.get(running.url("/readyz"), timeout=5)

    assert (ready.status_code, ready.text) == (503, "slack: auth.test failed\n")
    text = requests.get(running.url("/metrics"), timeout=5).text
    assert 'myctl_bot_slack_api_errors_total{error="invalid_auth",method="auth.test"} 1' in text


def test_socket_mode_shares_the_apps_one_web_client(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    config = config_mod.from_environ(slack_environment(slack_emulator, socket_mode=True))

    handler = socket_mode.handler(running.bot, config, ping_interval=0.1)
    try:
        web = handler.client.web_client
        assert web is running.bot.services.slack.client
        assert web.base_url == slack_emulator.api_url
        assert any(isinstance(h, RateLimitErrorRetryHandler) for h in web.retry_handlers)
    finally:
        handler.close()  # type: ignore[no-untyped-call]
