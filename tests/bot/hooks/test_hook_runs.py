"""Registry hooks end to end over HTTP, on the in-memory cluster: a push → one run → one message."""

from __future__ import annotations

import json
import statistics
import threading
import time

import pytest
import requests

from commands.kube import memory
from commands.values import workloads
from tests.bot.hooks import hookbots, payloads
from tests.support import polling

HOST = "registry.example.com:5000"
IMAGE = f"{HOST}/team/api:v1"
DEPLOYMENT = workloads.Kind.DEPLOYMENT


def cluster_running(
    image: str = IMAGE, names: tuple[str, ...] = ("web", "api")
) -> tuple[memory.MemoryCluster, list[workloads.WorkloadRef]]:
    """Deployments of `image` (pull Always, as a moving tag needs), settled on its first digest."""
    cluster = memory.MemoryCluster()
    cluster.images.push(image, payloads.DIGEST_B)
    refs = [cluster.add(DEPLOYMENT, "shop", name, image, pull_policy="Always") for name in names]
    return cluster, refs


def restarted(cluster: memory.MemoryCluster) -> int:
    return sum(1 for _ref, dry_run in cluster.calls.patches if not dry_run)


def digests(cluster: memory.MemoryCluster, ref: workloads.WorkloadRef) -> set[str | None]:
    return {c.digest for pod in cluster.pods(ref) if not pod.terminating for c in pod.containers}


def distribution_push(event_id: str, digest: str = payloads.DIGEST_A, **kw: object) -> dict:
    return payloads.distribution_event(event_id=event_id, digest=digest, host=HOST, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("hook_bots", ["in-process", "front"], indirect=True)
def test_a_push_rolls_out_both_deployments_in_one_verified_run_with_one_message(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster, refs = cluster_running()
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml()), cluster=cluster)
    cluster.images.push(IMAGE, payloads.DIGEST_A)
    took = []
    for n in range(3):  # three deliveries of one push burst: one run
        started = time.monotonic()
        answer = bot.post_distribution("reg", distribution_push(f"ev-{n}"))
        took.append(time.monotonic() - started)
        assert answer.status_code == 202, answer.text
        assert answer.json()["result"] == "accepted"
    # The run happens on the job runner, not on the request (median: a shared, busy machine).
    assert statistics.median(took) < 0.1, took
    final = bot.final("C_HOOK")
    assert final.text.startswith(":white_check_mark:"), final.text
    assert len(bot.emulator.messages_in("C_HOOK")) == 1
    shown = json.dumps(final.blocks)
    assert "trigger `reg`" in shown and f"{HOST}/team/api:v1@{payloads.DIGEST_A}" in shown
    for ref in refs:
        assert digests(cluster, ref) == {payloads.DIGEST_A}
    (run,) = bot.runs()
    assert (run.source, run.command, run.exit_code) == ("hook", "orchestrate", 0)
    assert "--wait" in run.argv and f"{HOST}/team/api:v1@{payloads.DIGEST_A}" in run.argv
    deliveries = bot.deliveries()
    assert [d.details["result"] for d in deliveries] == ["accepted"] * 3
    assert deliveries[0].actor == "trigger:reg"
    text = bot.metrics()
    assert 'myctl_bot_hook_deliveries_total{result="accepted",trigger="reg"} 3' in text
    polling.wait_until(
        lambda: 'myctl_bot_hook_runs_total{exit_code="0",trigger="reg"} 1' in bot.metrics(),
        what="the run counted",
    )


def test_a_multi_platform_push_of_three_events_is_one_run(hook_bots: hookbots.HookBots) -> None:
    cluster, _refs = cluster_running()
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml()), cluster=cluster)
    cluster.images.push(IMAGE, payloads.DIGEST_INDEX)
    # As the registry sends them: each platform manifest by digest (no tag), then the index.
    for n, (digest, media, tag) in enumerate(
        [
            (payloads.DIGEST_A, payloads.OCI_MANIFEST, None),
            (payloads.DIGEST_B, payloads.OCI_MANIFEST, None),
            (payloads.DIGEST_INDEX, payloads.OCI_INDEX, "v1"),
        ]
    ):
        answer = bot.post_distribution(
            "reg", distribution_push(f"ev-{n}", digest, media_type=media, tag=tag)
        )
        assert answer.status_code == 202
    final = bot.final("C_HOOK")
    assert final.text.startswith(":white_check_mark:")
    assert len(bot.runs()) == 1


def test_events_of_one_tag_in_separate_deliveries_coalesce_into_one_run(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster, _refs = cluster_running()
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml()), cluster=cluster)
    cluster.images.push(IMAGE, payloads.DIGEST_A)
    outcomes = []
    for n in range(3):
        answer = bot.post_distribution("reg", distribution_push(f"burst-{n}"))
        outcomes.append(answer.json()["pushes"][0]["outcome"])
    assert outcomes == ["scheduled", "merged", "merged"]
    bot.final("C_HOOK")
    assert len(bot.runs()) == 1


def test_an_image_outside_images_restarts_nothing(hook_bots: hookbots.HookBots) -> None:
    cluster, _refs = cluster_running()
    config = hookbots.config_with(hookbots.trigger_yaml(images='["other.example.com/*"]'))
    bot = hook_bots.start(config, cluster=cluster)
    answer = bot.post_distribution("reg", distribution_push("ev-out"))
    assert (answer.status_code, answer.json()["result"]) == (202, "ignored")
    assert "images" in " ".join(answer.json()["ignored"])
    (delivery,) = bot.deliveries()
    assert delivery.details["result"] == "ignored"
    assert bot.bot.hooks is not None and bot.bot.hooks.coalescer.next_due_in() is None
    assert restarted(cluster) == 0 and bot.runs() == []


def test_notify_patches_nothing_and_says_would(hook_bots: hookbots.HookBots) -> None:
    cluster, refs = cluster_running()
    config = hookbots.config_with(hookbots.trigger_yaml(extra="action: notify"))
    bot = hook_bots.start(config, cluster=cluster)
    cluster.images.push(IMAGE, payloads.DIGEST_A)
    assert bot.post_distribution("reg", distribution_push("ev-n")).status_code == 202
    final = bot.final("C_HOOK")
    assert "would" in json.dumps(final.blocks).lower()
    assert restarted(cluster) == 0
    for ref in refs:
        assert digests(cluster, ref) == {payloads.DIGEST_B}
    (run,) = bot.runs()
    assert run.dry_run and "--dry-run" in run.argv


APPROVALS = """
slack:
  approvals:
    approvers: {users: [U_BOSS]}
"""


@pytest.mark.parametrize("hook_bots", ["in-process", "front"], indirect=True)
def test_approval_runs_nothing_until_an_approver_approves(hook_bots: hookbots.HookBots) -> None:
    cluster, refs = cluster_running()
    config = hookbots.config_with(hookbots.trigger_yaml(extra="approval: true"), head=APPROVALS)
    bot = hook_bots.start(config, cluster=cluster)
    cluster.images.push(IMAGE, payloads.DIGEST_A)
    assert bot.post_distribution("reg", distribution_push("ev-a")).status_code == 202

    def request_posted() -> object:
        found = [m for m in bot.emulator.messages_in("C_HOOK") if "Approval needed" in m.text]
        return found[0] if found else None

    message = bot.emulator.wait_for(request_posted, timeout=hookbots.RUN_DEADLINE)
    assert "trigger `reg`" in message.text
    assert restarted(cluster) == 0 and bot.runs() == []
    answer = bot.driver.click(
        channel=message.channel,
        ts=message.ts,
        text=message.text,
        blocks=message.blocks,
        action_id="myctl_approve",
        user_id="U_BOSS",
        response_url=bot.emulator.new_response_url(),
    )
    assert answer.status_code == 200
    final = bot.final("C_HOOK")
    assert final.text.startswith(":white_check_mark:"), final.text
    assert final.ts == message.ts  # the request's message became the run's
    for ref in refs:
        assert digests(cluster, ref) == {payloads.DIGEST_A}
    (run,) = bot.runs()
    assert (run.source, run.user) == ("hook", "trigger:reg")


def test_over_the_rate_limit_is_429_with_retry_after(hook_bots: hookbots.HookBots) -> None:
    cluster, _refs = cluster_running()
    bot = hook_bots.start(
        hookbots.config_with(hookbots.trigger_yaml(extra="rate_limit: 1")), cluster=cluster
    )
    assert bot.post_distribution("reg", distribution_push("r-1", tag="v1")).status_code == 202
    answer = bot.post_distribution("reg", distribution_push("r-2", tag="v2"))
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 1
    results = [event.details["result"] for event in bot.deliveries()]
    assert results == ["accepted", "rate_limited"]


@pytest.mark.parametrize("hook_bots", ["in-process", "front"], indirect=True)
def test_a_full_job_runner_is_503_with_retry_after_and_the_retry_is_accepted(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster, _refs = cluster_running()
    bot = hook_bots.start(
        hookbots.config_with(hookbots.trigger_yaml()),
        cluster=cluster,
        MYCTL_BOT_JOB_WORKERS="1",
        MYCTL_BOT_JOB_QUEUE="1",
    )
    release = threading.Event()
    runner = bot.bot.services.runner
    while runner.try_submit(lambda: release.wait(30)) is not None:
        pass
    body = distribution_push("busy-1")
    answer = bot.post_distribution("reg", body)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    release.set()
    polling.wait_until(lambda: runner.depth == 0, what="the runner drained")
    assert bot.post_distribution("reg", body).status_code == 202  # not taken for a replay


@pytest.mark.parametrize("hook_bots", ["in-process", "front"], indirect=True)
def test_unknown_names_wrong_methods_and_large_bodies(hook_bots: hookbots.HookBots) -> None:
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml()))
    unknown = bot.post("nope", b"{}")
    assert (unknown.status_code, unknown.text) == (404, "not found\n")
    assert requests.get(bot.url("reg"), timeout=10).status_code == 405
    large = bot.post("reg", b"{" + b" " * (1 << 20) + b"}")
    assert large.status_code == 413
    assert bot.post("reg", b"{}", content_type="text/plain").status_code == 415
    assert bot.post("reg", b"{}").status_code == 401  # no bearer
