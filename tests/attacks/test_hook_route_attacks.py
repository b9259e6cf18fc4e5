"""Registry hooks under attack through the real HTTP route (`/hooks/NAME` on the bot's server, the
in-memory cluster): an image outside the trigger's `images`, another trigger's valid credential,
and a burst of 1,000 deliveries while Slack keeps being acked in time (docs/reliability.md)."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands.kube import memory
from commands.values import workloads
from tests.bot.hooks import hookbots, payloads
from tests.support import polling
from tests.support.slack_emulator import SlackEmulator

IMAGE = "registry.example.com:5000/team/api:v1"
ACK_BUDGET = 3.0  # seconds: Slack's deadline for acknowledging a slash command
BURST = 1000
WORKERS = 8  # concurrent senders: a burst, bounded


@pytest.fixture
def hook_bots(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[hookbots.HookBots]:
    bots = hookbots.HookBots(slack_emulator, tmp_path)
    yield bots
    bots.stop()


def _cluster() -> memory.MemoryCluster:
    cluster = memory.MemoryCluster()
    cluster.images.push(IMAGE, payloads.DIGEST_B)
    cluster.add(workloads.Kind.DEPLOYMENT, "shop", "web", IMAGE, pull_policy="Always")
    cluster.images.push(IMAGE, payloads.DIGEST_A)
    return cluster


def _patched(cluster: memory.MemoryCluster) -> list[object]:
    return [ref for ref, dry_run in cluster.calls.patches if not dry_run]


def test_an_image_outside_the_triggers_images_is_ignored_restarts_nothing_and_is_audited(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster = _cluster()
    trigger = hookbots.trigger_yaml(images='["registry.example.com:5000/team/web"]')
    bot = hook_bots.start(hookbots.config_with(trigger), cluster=cluster)
    event = payloads.distribution_event(event_id="outside-1", repository="team/api")

    answer = bot.post_distribution("reg", event)

    assert answer.status_code == 202 and answer.json()["result"] == "ignored", answer.text
    (audited,) = bot.deliveries()
    assert audited.details["result"] == "ignored" and audited.details["trigger"] == "reg"
    assert bot.runs() == [] and _patched(cluster) == []
    assert bot.emulator.messages_in("C_HOOK") == []


def test_a_valid_signature_for_one_trigger_is_401_on_another_triggers_url(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster = _cluster()
    github = hookbots.trigger_yaml("gh", source="github", channel="C_GH")
    other = hookbots.trigger_yaml("gh2", source="github", channel="C_GH2").replace(
        hookbots.SECRET_ENV, "MYCTL_HOOK_OTHER"
    )
    bot = hook_bots.start(
        hookbots.config_with(github, other), cluster=cluster, MYCTL_HOOK_OTHER="another-secret"
    )
    body = payloads.encode(payloads.github_package())
    headers = {
        "X-Hub-Signature-256": payloads.github_signature(body),  # gh's secret
        "X-GitHub-Event": "package",
        "X-GitHub-Delivery": "d-cross-1",
    }

    answer = bot.post("gh2", body, headers=headers)

    assert answer.status_code == 401, answer.text
    assert payloads.SECRET not in answer.text
    assert [e.details["result"] for e in bot.deliveries()] == ["unauthorized"]
    assert bot.runs() == [] and _patched(cluster) == []


def test_a_burst_of_a_thousand_deliveries_is_rate_limited_while_slack_is_acked_in_time(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster = _cluster()
    trigger = hookbots.trigger_yaml(extra="rate_limit: 2")
    bot = hook_bots.start(hookbots.config_with(trigger), cluster=cluster)
    digests = [f"sha256:{n:064x}" for n in range(BURST)]

    def deliver(digest: str) -> int:
        event = payloads.distribution_event(event_id=digest[-12:], digest=digest)
        return bot.post_distribution("reg", event).status_code

    acks: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        sent = [pool.submit(deliver, digest) for digest in digests]
        while not all(f.done() for f in sent) and len(acks) < 50:
            started = time.monotonic()
            answer = bot.driver.slash_command("help", user_id="U_ANY")
            acks.append(time.monotonic() - started)
            assert answer.status_code == 200
        statuses = [f.result(timeout=120) for f in sent]

    assert len(acks) >= 1 and max(acks) < ACK_BUDGET, acks
    assert statuses.count(429) > 0 and set(statuses) <= {202, 429}, set(statuses)
    # A 202 is a push folded into the pending run (coalesce_window); only two runs may start.
    polling.wait_until(lambda: bot.final("C_HOOK") is not None, what="the admitted run")
    assert len(bot.runs()) <= 2
    assert len(bot.deliveries()) == BURST
