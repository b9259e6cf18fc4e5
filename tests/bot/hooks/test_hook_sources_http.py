"""Each registry's documented payload, authorized and run end to end over HTTP; a wrong
credential is 401 and runs nothing. GitHub: signatures, replays, and two replicas."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from commands.kube import memory
from commands.values import workloads
from tests.bot.hooks import hookbots, payloads

DEPLOYMENT = workloads.Kind.DEPLOYMENT


@dataclass(frozen=True)
class Case:
    source: str
    image: str  # what the workloads run: the payload's repository and tag
    digest: str | None  # the payload's digest, if it has one
    body: bytes
    good: dict[str, str]  # headers
    bad: dict[str, str]
    query: Callable[[str], str] = lambda secret: ""
    content_type: str = "application/json"


def _github(body: bytes) -> Case:
    headers = {"X-GitHub-Event": "package", "X-GitHub-Delivery": "d-1"}
    return Case(
        "github",
        "ghcr.io/acme/api:v1.2.3",
        payloads.DIGEST_A,
        body,
        {**headers, "X-Hub-Signature-256": payloads.github_signature(body)},
        {**headers, "X-Hub-Signature-256": payloads.github_signature(body, "wrong")},
    )


def _cases() -> list[Case]:
    harbor_ok = {"Authorization": payloads.SECRET}
    harbor_bad = {"Authorization": "not-the-secret"}
    harbor_image = "hub.harbor.example.com/team/api:v2"
    token: Callable[[str], str] = lambda secret: f"?token={secret}"  # noqa: E731
    return [
        _github(payloads.encode(payloads.github_package())),
        Case(
            "harbor",
            harbor_image,
            payloads.DIGEST_A,
            payloads.encode(payloads.harbor_default()),
            harbor_ok,
            harbor_bad,
        ),
        Case(
            "harbor",
            harbor_image,
            payloads.DIGEST_A,
            payloads.encode(payloads.harbor_cloudevent()),
            harbor_ok,
            harbor_bad,
        ),
        Case(
            "dockerhub",
            "docker.io/acme/api:latest",
            None,
            payloads.encode(payloads.dockerhub_push()),
            {},
            {},
            token,
        ),
        Case(
            "quay",
            "quay.io/acme/api:latest",
            None,
            payloads.encode(payloads.quay_push()),
            {},
            {},
            token,
        ),
    ]


CASES = _cases()
IDS = ["github", "harbor-default", "harbor-cloudevents", "dockerhub", "quay"]


def _digests(cluster: memory.MemoryCluster, ref: workloads.WorkloadRef) -> set[str | None]:
    return {c.digest for pod in cluster.pods(ref) if not pod.terminating for c in pod.containers}


def _start(
    hook_bots: hookbots.HookBots, case: Case
) -> tuple[hookbots.HookBot, workloads.WorkloadRef, str]:
    cluster = memory.MemoryCluster()
    cluster.images.push(case.image, payloads.DIGEST_B)
    ref = cluster.add(DEPLOYMENT, "shop", "web", case.image, pull_policy="Always")
    new = case.digest or payloads.DIGEST_INDEX
    cluster.images.push(case.image, new)
    config = hookbots.config_with(hookbots.trigger_yaml(source=case.source))
    return hook_bots.start(config, cluster=cluster), ref, new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_registry_payload_is_authorized_and_rolls_out(
    hook_bots: hookbots.HookBots, case: Case
) -> None:
    bot, ref, new = _start(hook_bots, case)
    answer = bot.post(
        "reg",
        case.body,
        headers=case.good,
        query=case.query(payloads.SECRET),
        content_type=case.content_type,
    )
    assert answer.status_code == 202, answer.text
    final = bot.final("C_HOOK")
    assert final.text.startswith(":white_check_mark:"), final.text
    assert bot.cluster is not None
    assert _digests(bot.cluster, ref) == {new}
    (run,) = bot.runs()
    assert run.source == "hook"
    if case.digest:
        assert f"{case.image}@{case.digest}" in run.argv  # the expected digest


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_wrong_credential_is_401_and_runs_nothing(
    hook_bots: hookbots.HookBots, case: Case
) -> None:
    bot, _ref, _new = _start(hook_bots, case)
    answer = bot.post(
        "reg",
        case.body,
        headers=case.bad,
        query=case.query("wrong-secret"),
        content_type=case.content_type,
    )
    assert (answer.status_code, answer.json()) == (401, {"result": "unauthorized"})
    (delivery,) = bot.deliveries()
    assert delivery.details["result"] == "unauthorized"
    assert payloads.SECRET not in json.dumps(delivery.details)
    assert bot.runs() == [] and bot.bot.hooks is not None
    assert bot.bot.hooks.coalescer.next_due_in() is None


def _github_post(bot: hookbots.HookBot, body: bytes, headers: dict[str, str]) -> int:
    return bot.post("reg", body, headers=headers).status_code


def test_github_missing_signature_or_a_body_changed_after_signing_is_401(
    hook_bots: hookbots.HookBots,
) -> None:
    body = payloads.encode(payloads.github_package())
    case = _github(body)
    bot, _ref, _new = _start(hook_bots, case)
    unsigned = {k: v for k, v in case.good.items() if k != "X-Hub-Signature-256"}
    assert _github_post(bot, body, unsigned) == 401
    changed = body.replace(b"v1.2.3", b"v6.6.6")
    assert _github_post(bot, changed, case.good) == 401
    assert [e.details["result"] for e in bot.deliveries()] == ["unauthorized"] * 2
    assert bot.runs() == []


def test_the_same_github_delivery_twice_and_to_a_second_replica_is_one_run(
    hook_bots: hookbots.HookBots, fresh_postgres_url: str
) -> None:
    body = payloads.encode(payloads.github_package())
    case = _github(body)
    # Two replicas on one PostgreSQL state store.
    first = _restart_on(hook_bots, case, fresh_postgres_url)
    second = _restart_on(hook_bots, case, fresh_postgres_url)
    assert _github_post(first, body, case.good) == 202
    replay = first.post("reg", body, headers=case.good)
    assert (replay.status_code, replay.json()["result"]) == (200, "duplicate")
    other = second.post("reg", body, headers=case.good)
    assert (other.status_code, other.json()["result"]) == (200, "duplicate")
    first.final("C_HOOK")
    assert len(first.runs()) == 1  # the shared trail: one run in all
    assert second.cluster is not None
    assert not [p for p in second.cluster.calls.patches if not p[1]]


def _restart_on(hook_bots: hookbots.HookBots, case: Case, state_url: str) -> hookbots.HookBot:
    cluster = memory.MemoryCluster()
    cluster.images.push(case.image, payloads.DIGEST_B)
    cluster.add(DEPLOYMENT, "shop", "web", case.image, pull_policy="Always")
    cluster.images.push(case.image, payloads.DIGEST_A)
    config = hookbots.config_with(hookbots.trigger_yaml(source=case.source))
    return hook_bots.start(config, cluster=cluster, MYCTL_STATE_URL=state_url)
