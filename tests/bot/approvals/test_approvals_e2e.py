"""Approvals end to end: `/myctl rebuild` posts a request, clicks decide it, a rebuild runs at
most once. Signed requests in, the Slack emulator out, the real control plane underneath, the
real bot app over HTTP; PostgreSQL where two replicas share one database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import requests
from kubernetes import client as k8s_client

from tests.bot.approvals.approval_support import (
    SINCE,
    Bot,
    Bots,
    bots,
    cache_exists,
    config_text,
)
from tests.kube import objects
from tests.support.slack_driver import Forgery
from tests.support.slack_emulator import Message

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]  # the fixture, re-exported for pytest

# Requests × concurrent clicks in the race tests (the store's own race tests do 50).
RACE_REPETITIONS = 10


def _rebuild_runs(running: Bots) -> list[object]:
    with running.store() as store:
        return [run for run in store.latest_runs(100) if run.command == "rebuild"]


def test_approval_by_an_approver_runs_the_rebuild_once_in_the_request_message(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    bot = bots.start()
    request = bots.request(bot)
    assert "*Scope:*" in request.all_text() and "*Scan:* 0 workloads in scope" in request.all_text()
    assert not cache_exists(kube_admin, bots.namespace)

    status, _ = bots.click(bot, request, "U_BOSS")

    assert status == 200
    final = bots.final(request)
    assert final.text.startswith(":white_check_mark: wrote cache")
    assert any("Approved by <@U_BOSS>" in str(h) for h in final.history)
    assert final.blocks and "actions" not in {b["type"] for b in final.blocks}
    assert len(bots.emulator.calls_to("chat.postMessage")) == 1  # one message, updated
    assert cache_exists(kube_admin, bots.namespace)
    with bots.store() as store:
        (run,) = [r for r in store.latest_runs(10) if r.command == "rebuild"]
        kinds = [e.kind for e in store.events_since(SINCE)]
    assert (run.exit_code, run.user, run.source) == (0, "U_REQ", "slack")
    assert run.permalink and run.permalink.startswith("https://test.slack.com/archives/C_OPS/")
    assert kinds.count("approval.requested") == 1 and kinds.count("approval.approved") == 1
    assert bots.emulator.violations == []


def test_approval_by_a_user_group_member_runs_the_rebuild(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    bot = bots.start()
    request = bots.request(bot)

    bots.click(bot, request, "U_BOSS2")  # approver through user group S_OPS

    assert bots.final(request).text.startswith(":white_check_mark:")
    assert cache_exists(kube_admin, bots.namespace)


def _cancel_first(bots: Bots, bot: Bot, request: Message) -> None:
    bots.click(bot, request, "U_BOSS", action="myctl_cancel")
    bots.emulator.wait_for(lambda: "Cancelled by" in bots.current(request).all_text())


def _expire_first(bots: Bots, bot: Bot, request: Message) -> None:
    with bots.store() as store:
        (pending,) = store.pending_approvals()
        bots.emulator.wait_for(
            lambda: dt.datetime.now(dt.UTC) > pending.expires_at,
            timeout=10,
        )


@pytest.mark.parametrize(
    ("scenario", "clicker", "reason", "says"),
    [
        ("self", "U_REQ", "self_approval", "You cannot approve your own request"),
        ("non-approver", "U_NOBODY", "not_approver", "You are not one of the configured"),
        ("after-cancel", "U_BOSS2", "cancelled", "This request was cancelled by <@U_BOSS>"),
        ("after-expiry", "U_BOSS", "expired", "This request has expired"),
    ],
)
def test_refused_click_is_answered_ephemerally_runs_nothing_and_is_audited(
    bots: Bots,
    kube_admin: k8s_client.ApiClient,
    scenario: str,
    clicker: str,
    reason: str,
    says: str,
) -> None:
    if scenario == "after-expiry":
        # The sweep is slow on purpose: the late click itself must notice the expiry.
        bots.write_config(config_text(bots.namespace, expiry="1s"))
    bot = bots.start(MYCTL_APPROVAL_SWEEP_SECONDS="600")
    request = bots.request(bot)
    if scenario == "after-cancel":
        _cancel_first(bots, bot, request)
    elif scenario == "after-expiry":
        _expire_first(bots, bot, request)

    status, url = bots.click(bot, request, clicker)

    assert status == 200
    answer = bots.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(":no_entry: ") and says in answer["text"]
    with bots.store() as store:
        refusals = [e for e in store.events_since(SINCE) if e.kind == "approval.refused"]
        approval = store.get_approval(request.blocks[-1]["elements"][0]["value"])
    assert [(e.actor, e.details["reason"]) for e in refusals] == [(clicker, reason)]
    assert approval is not None and approval.state != "executing"
    assert _rebuild_runs(bots) == []
    assert not cache_exists(kube_admin, bots.namespace)
    if scenario in ("self", "non-approver"):
        # Still pending: a refused click changes nothing, so a real approver can still approve.
        assert approval.state == "pending"
        assert "actions" in {b["type"] for b in bots.current(request).blocks}


@pytest.mark.parametrize("replicas", ["one-bot-sqlite", "two-bots-postgresql"])
def test_concurrent_approvals_execute_each_request_exactly_once(
    bots: Bots, kube_admin: k8s_client.ApiClient, request: pytest.FixtureRequest, replicas: str
) -> None:
    if replicas == "two-bots-postgresql":
        bots.state_url = str(request.getfixturevalue("fresh_postgres_url"))
        # Two replicas: separate apps and StateStores, one PostgreSQL database.
        pair = (bots.start(POD_NAME="bot-a"), bots.start(POD_NAME="bot-b"))
    else:
        one = bots.start()
        pair = (one, one)
    requests_ = []
    for _ in range(RACE_REPETITIONS):
        message = bots.request(pair[0])
        barrier = threading.Barrier(2)
        urls: list[str] = []

        def click(
            bot: Bot,
            who: str,
            message: Message = message,
            barrier: threading.Barrier = barrier,
            urls: list[str] = urls,
        ) -> None:
            barrier.wait()  # both clicks leave at once
            urls.append(bots.click(bot, message, who)[1])

        threads = [
            threading.Thread(target=click, args=(pair[0], "U_BOSS")),
            threading.Thread(target=click, args=(pair[1], "U_BOSS2")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert bots.final(message).text.startswith(":white_check_mark:")

        # The losing click is told, ephemerally, that the request was already approved.
        def answered(urls: list[str] = urls) -> list[dict[str, object]]:
            return [a for u in urls for a in bots.answers(u)]

        refusal = bots.emulator.wait_for(answered, timeout=30)
        assert len(refusal) == 1 and "already approved" in str(refusal[0]["text"])
        requests_.append(message)

    runs = _rebuild_runs(bots)
    assert len(runs) == RACE_REPETITIONS  # one execution per request, never two
    with bots.store() as store:
        kinds = [e.kind for e in store.events_since(SINCE)]
    assert kinds.count("approval.approved") == RACE_REPETITIONS
    assert kinds.count("approval.refused") == RACE_REPETITIONS
    assert cache_exists(kube_admin, bots.namespace)
    assert bots.emulator.violations == []


def test_expired_request_says_so_once_and_loses_its_buttons(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    bots.write_config(config_text(bots.namespace, expiry="2s"))
    # Two replicas sweep the same database: the message must still be updated once.
    first = bots.start(POD_NAME="bot-a", MYCTL_APPROVAL_SWEEP_SECONDS="0.2")
    bots.start(POD_NAME="bot-b", MYCTL_APPROVAL_SWEEP_SECONDS="0.2")
    request = bots.request(first)

    def expired_message() -> Message | None:
        now = bots.current(request)
        return now if "Expired" in now.all_text() else None

    expired = bots.emulator.wait_for(expired_message, timeout=30)
    assert expired is not None

    assert expired.text.startswith(":hourglass: Expired")
    assert "actions" not in {b["type"] for b in expired.blocks}
    updates = [c for c in bots.emulator.calls_to("chat.update") if c.params.get("ts") == request.ts]
    assert len(updates) == 1
    with bots.store() as store:
        kinds = [e.kind for e in store.events_since(SINCE)]
    assert kinds.count("approval.expired") == 1
    assert not cache_exists(kube_admin, bots.namespace)


def test_forged_click_is_refused_with_401_and_runs_nothing(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    bot = bots.start()
    request = bots.request(bot)

    status, url = bots.click(bot, request, "U_BOSS", forgery=Forgery.BAD_SIGNATURE)

    assert status == 401
    with bots.store() as store:
        (pending,) = store.pending_approvals()
    assert pending.state == "pending" and pending.approvers == ()
    assert bots.answers(url) == []
    assert bots.current(request).updates == 0
    assert not cache_exists(kube_admin, bots.namespace)


def test_unauthorized_restart_is_refused_ephemerally_with_exit_2_and_audited(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, bots.namespace, "api", "registry.example.com/api:1")
    bot = bots.start()

    url = bots.slash(bot, f"restart deployment/api -n {bots.namespace}", user="U_OTHER")

    answer = bots.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(":warning: You may not run `myctl restart`")
    with bots.store() as store:
        (event,) = [e for e in store.events_since(SINCE) if e.kind == "authorization.refused"]
        assert store.latest_runs(10) == []
    assert (event.actor, event.details["command"], event.details["exit_code"]) == (
        "U_OTHER", "restart", 2,
    )  # fmt: skip
    assert bots.emulator.calls_to("chat.postMessage") == []
    deployment = k8s_client.AppsV1Api(kube_admin).read_namespaced_deployment("api", bots.namespace)
    assert not (deployment.spec.template.metadata.annotations or {})  # type: ignore[union-attr]
    metrics = bot.driver.app_url.replace("/slack/events", "/metrics")
    text = requests.get(metrics, timeout=5).text
    assert 'myctl_bot_commands_total{command="restart",exit_code="2"} 1' in text
