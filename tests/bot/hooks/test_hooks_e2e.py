"""A push rolls itself out, for real: the CNCF distribution registry notifies the bot's
`/hooks/NAME` (bearer header), the bot orchestrates on the local control plane, the fake
kubelet's nodes pull per imagePullPolicy, and the run is verified on the pushed digest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s_client

from commands.values import images
from tests.bot.hooks import hookbots, payloads
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import polling
from tests.support import registry as reg

pytestmark = pytest.mark.kube

Seed = Callable[[reg.LocalRegistry], object]
Notifying = Callable[[str, Seed], reg.LocalRegistry]


@pytest.fixture
def notifying_registry(tmp_path: Path) -> Iterator[Notifying]:
    """`start(hook_url, seed)`: a registry whose notifications go to `hook_url` with the bearer
    header, after `seed` pushed the images the workloads start on (quietly: the seed runs on
    the same storage and port before notifications are switched on, so its pushes are not
    hook runs)."""
    started: list[reg.LocalRegistry] = []

    def start(hook_url: str, seed: Seed) -> reg.LocalRegistry:
        binary = reg.build_registry()
        workdir = tmp_path / "registry"
        quiet = reg.LocalRegistry(binary, workdir).start()
        started.append(quiet)
        seed(quiet)
        quiet.stop()
        headers = {"Authorization": f"Bearer {payloads.SECRET}"}
        loud = reg.LocalRegistry(
            binary, workdir, endpoints=[("myctl", hook_url, headers)], port=quiet.port
        ).start()
        started.append(loud)
        return loud

    yield start
    for running in started:
        running.stop()


def pods_digests(plane: cp.ControlPlane, namespace: str, app: str) -> list[str]:
    pods = plane.request("GET", f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"app={app}")[
        "items"
    ]
    return [
        images.digest_of_image_id(c.get("imageID", "")) or ""
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        for c in p.get("status", {}).get("containerStatuses") or []
    ]


def settled_on(plane: cp.ControlPlane, namespace: str, name: str, digest: str) -> None:
    def settled() -> bool:
        found = pods_digests(plane, namespace, name)
        return len(found) == 2 and set(found) == {digest}

    polling.wait_until(settled, timeout=60, what=f"{namespace}/{name} on {digest}")


def _bot(
    hook_bots: hookbots.HookBots, plane: cp.ControlPlane, namespace: str, repo: str
) -> hookbots.HookBot:
    head = f"cache: {{namespace: {namespace}}}\nscope: {{namespaces: [{namespace}]}}\n"
    trigger = hookbots.trigger_yaml(
        images=f'["127.0.0.1:*/{repo}"]', extra=f"namespaces: [{namespace}]"
    )
    return hook_bots.start(
        hookbots.config_with(trigger, head=head), kubeconfig=str(plane.kubeconfig)
    )


def _deploy(
    api: k8s_client.ApiClient, plane: cp.ControlPlane, namespace: str, image: str, digest: str
) -> None:
    for name in ("web", "api"):
        objects.deployment(api, namespace, name, image, replicas=2, labels={"app": name})
    for name in ("web", "api"):
        settled_on(plane, namespace, name, digest)


def test_a_push_to_the_registry_restarts_both_deployments_verified_in_one_run(
    hook_bots: hookbots.HookBots,
    notifying_registry: Notifying,
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    repo = f"team/{control_plane.unique_name('api')}"
    bot = _bot(hook_bots, control_plane, kube_namespace, repo)
    seeded: dict[str, str] = {}

    def seed(registry: reg.LocalRegistry) -> None:
        seeded["v1"] = registry.push_image(repo, "1.0", seed="v1")

    registry = notifying_registry(bot.url("reg"), seed)
    image = registry.ref(repo, "1.0")
    _deploy(kube_admin, control_plane, kube_namespace, image, seeded["v1"])
    v2 = registry.push_image(repo, "1.0", seed="v2")
    final = bot.final("C_HOOK", timeout=120)
    assert final.text.startswith(":white_check_mark:"), final.text
    assert len(bot.emulator.messages_in("C_HOOK")) == 1
    assert f"{image}@{v2}" in str(final.blocks) and "trigger `reg`" in str(final.blocks)
    for name in ("web", "api"):
        assert set(pods_digests(control_plane, kube_namespace, name)) == {v2}
    (run,) = bot.runs()
    assert (run.source, run.exit_code) == ("hook", 0)
    targets = run.details["restart"]["targets"] if run.details else []
    assert {t["name"]: t["verified"] for t in targets} == {"web": "updated", "api": "updated"}
    accepted = [e for e in bot.deliveries() if e.details["result"] == "accepted"]
    assert accepted and accepted[0].details["pushes"][0]["image"] == f"{image}@{v2}"


def test_a_multi_platform_push_is_one_run(
    hook_bots: hookbots.HookBots,
    notifying_registry: Notifying,
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    repo = f"team/{control_plane.unique_name('multi')}"
    bot = _bot(hook_bots, control_plane, kube_namespace, repo)
    seeded: dict[str, str] = {}

    def seed(registry: reg.LocalRegistry) -> None:
        seeded["v1"], _platforms = registry.push_index(repo, "1.0", seed="v1")

    registry = notifying_registry(bot.url("reg"), seed)
    image = registry.ref(repo, "1.0")
    _deploy(kube_admin, control_plane, kube_namespace, image, seeded["v1"])
    index, platforms = registry.push_index(repo, "1.0", seed="v2")
    assert len(platforms) == 2  # three manifest events: two platforms and the index
    final = bot.final("C_HOOK", timeout=120)
    assert final.text.startswith(":white_check_mark:"), final.text
    (run,) = bot.runs()
    assert f"{image}@{index}" in run.argv
    for name in ("web", "api"):
        assert set(pods_digests(control_plane, kube_namespace, name)) == {index}
