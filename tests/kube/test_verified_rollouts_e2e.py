"""Truthful, verified rollouts against the real API server, the local registry and the fake
kubelet's nodes, which cache images and pull per imagePullPolicy as a kubelet does."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client

from commands.cli import main, parser
from commands.engine import restart
from commands.engine.context import Engine
from commands.kube import client
from commands.values import requests, workloads
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import fake_kubelet as kubelet_mod
from tests.support import polling
from tests.support import registry as reg

pytestmark = pytest.mark.kube
NODES = ("fake-node", "fake-node-b")


def targets(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in payload["restart"]["targets"]}


@dataclass
class Rollouts:
    """One test's world: a namespace, a tag on the local registry (pushed once, digest `v1`),
    and the verbs the tests use on them."""

    plane: cp.ControlPlane
    namespace: str
    admin: k8s_client.ApiClient
    registry: reg.LocalRegistry
    image: str
    v1: str

    def deploy(
        self, *names: str, replicas: int = 1, pull: str | None, paused: bool = False
    ) -> None:
        """Deployments of the tag, each settled on v1 (every pod pulled it) unless paused."""
        for name in names:
            objects.deployment(
                self.admin, self.namespace, name, self.image, replicas=replicas, pull=pull,
                paused=paused,
            )  # fmt: skip
        for name in names if not paused else ():
            self.settle(name, replicas)

    def push(self, seed: str) -> str:
        """Move the tag to a new build; its digest."""
        repo, tag = self.image.split("/", 1)[1].rsplit(":", 1)
        return self.registry.push_image(repo, tag, seed=seed)

    def myctl(self, *args: str) -> tuple[Result, Any]:
        """The real CLI with `-o json` (given after the subcommand, as users do)."""
        argv = [*args, "-n", self.namespace, "--cache-namespace", self.namespace, "-o", "json"]
        argv += ["--kubeconfig", str(self.plane.kubeconfig)]
        runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False)
        result = CliRunner().invoke(parser.cli, argv, obj=runtime)
        return result, json.loads(result.output)

    def deployment(self, name: str) -> Any:
        return self.plane.request(
            "GET", f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{name}"
        )

    def pod_digests(self, app: str) -> dict[str, str]:
        return objects.pods_digests(self.plane, self.namespace, app)

    def settle(self, name: str, n: int) -> None:
        objects.rollout_settled(self.plane, self.namespace, name, n)


@pytest.fixture
def world(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
) -> Rollouts:
    repo = f"team/{control_plane.unique_name('api')}"
    v1 = registry.push_image(repo, "1.0", seed="v1")
    return Rollouts(
        control_plane, kube_namespace, kube_admin, registry, registry.ref(repo, "1.0"), v1
    )


def test_default_pull_policy_and_a_re_pushed_tag_is_exit_1_and_patches_nothing(
    world: Rollouts,
) -> None:
    world.deploy("web", "api", replicas=2, pull=None)
    world.push("v2")
    before = {
        name: world.deployment(name)["metadata"]["resourceVersion"] for name in ("web", "api")
    }
    result, payload = world.myctl("orchestrate", "--image", world.image)
    assert result.exit_code == 1
    assert {t["outcome"] for t in targets(payload).values()} == {"stale-pull"}
    advice = " ".join(payload["restart"]["advice"])
    assert f"{world.namespace}/deployment/web (IfNotPresent)" in advice
    assert "--pin-digest" in advice and "imagePullPolicy: Always" in advice
    for name, version in before.items():
        assert world.deployment(name)["metadata"]["resourceVersion"] == version  # not patched


def test_expected_digest_pinned_runs_on_every_node(world: Rollouts) -> None:
    world.deploy("web", replicas=4, pull=None)
    v2 = world.push("v2")
    args = ("--image", world.image, "--expect-digest", v2, "--pin-digest", "--wait")
    result, payload = world.myctl("orchestrate", *args)
    assert result.exit_code == 0, result.output
    web = targets(payload)["web"]
    assert (web["verified"], web["digests_before"], web["digests_after"]) == (
        "updated", [world.v1], [v2],
    )  # fmt: skip
    assert set(world.pod_digests("web").values()) == {v2}
    pods = world.plane.request("GET", f"/api/v1/namespaces/{world.namespace}/pods")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == set(NODES)  # both nodes pulled it
    container = world.deployment("web")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{world.image}@{v2}"


def test_allow_stale_pull_where_a_node_cached_the_old_digest_is_unchanged(
    world: Rollouts,
) -> None:
    world.deploy("web", replicas=2, pull=None)  # both nodes cache v1 now
    world.push("v2")
    result, payload = world.myctl(
        "orchestrate", "--image", world.image, "--allow-stale-pull", "--wait"
    )
    assert result.exit_code == 1
    web = targets(payload)["web"]
    assert (web["outcome"], web["verified"], web["digests_after"]) == (
        "unchanged", "unchanged", [world.v1],
    )  # fmt: skip


def test_pull_always_re_pushed_is_updated_and_not_re_pushed_is_unchanged(
    world: Rollouts,
) -> None:
    world.deploy("web", replicas=2, pull="Always")
    v2 = world.push("v2")
    result, payload = world.myctl("orchestrate", "--image", world.image, "--wait")
    assert result.exit_code == 0, result.output
    web = targets(payload)["web"]
    assert (web["verified"], web["digests_before"], web["digests_after"]) == (
        "updated", [world.v1], [v2],
    )  # fmt: skip
    again, payload = world.myctl("orchestrate", "--image", world.image, "--wait")
    assert again.exit_code == 1
    assert targets(payload)["web"]["verified"] == "unchanged"


def test_expected_digest_restarts_only_the_behind_half_then_nothing(world: Rollouts) -> None:
    world.deploy("a", "b", "c", "d", pull="Always")  # all pulled v1
    v2 = world.push("v2")
    for name in ("a", "b"):  # half already roll out v2
        result, _ = world.myctl("restart", f"deployment/{name}", "--wait")
        assert result.exit_code == 0, result.output
    args = ("orchestrate", "--image", world.image, "--expect-digest", v2, "--wait")
    result, payload = world.myctl(*args)
    assert result.exit_code == 0, result.output
    assert {n: t["outcome"] for n, t in targets(payload).items()} == {
        "a": "up-to-date",
        "b": "up-to-date",
        "c": "restarted",
        "d": "restarted",
    }
    again, payload = world.myctl(*args)
    assert again.exit_code == 0
    assert {t["outcome"] for t in targets(payload).values()} == {"up-to-date"}


def test_a_paused_deployment_beside_an_updated_one_is_partial(world: Rollouts) -> None:
    world.deploy("web", pull="Always")
    world.deploy("frozen", pull=None, paused=True)
    world.push("v2")
    result, payload = world.myctl("orchestrate", "--image", world.image, "--wait")
    assert result.exit_code == 3
    assert "paused" in targets(payload)["frozen"]["detail"]
    assert targets(payload)["web"]["verified"] == "updated"


def test_wait_notices_completion_within_a_second_with_requests_that_do_not_grow(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "slow", "nginx:1.27", never_ready=True)
    ref = workloads.WorkloadRef(workloads.Kind.DEPLOYMENT, kube_namespace, "slow")
    cluster = client.connect(str(control_plane.kubeconfig), None)
    engine = Engine(cluster=cluster)
    done: dict[str, Any] = {}

    def run() -> None:
        options = requests.RestartOptions(wait=True, timeout_seconds=60)
        done["result"] = restart.run(engine, restart.Request((ref,), options=options))
        done["at"] = time.monotonic()

    worker = threading.Thread(target=run)
    worker.start()

    def new_pod() -> str | None:
        pods = control_plane.request(
            "GET", f"/api/v1/namespaces/{kube_namespace}/pods", labelSelector="app=slow"
        )["items"]
        fresh = [
            p
            for p in pods
            if "kubectl.kubernetes.io/restartedAt" in (p["metadata"].get("annotations") or {})
        ]
        return fresh[0]["metadata"]["name"] if fresh else None

    name = polling.wait_until(new_pod, timeout=30, what="the restarted pod")
    requests_while_waiting = cluster.requests
    # Not waiting for a condition: four idle seconds during which a poller would have sent
    # two requests and a watch sends none.
    time.sleep(4)
    assert cluster.requests == requests_while_waiting
    released = time.monotonic()
    k8s_client.CoreV1Api(kube_admin).patch_namespaced_pod(
        name, kube_namespace, {"metadata": {"labels": {kubelet_mod.NEVER_READY_LABEL: None}}}
    )
    worker.join(30)
    assert done["result"].exit_code == 0, done["result"].summary()
    noticed = done["at"] - released
    assert noticed < 1.0, f"noticed {noticed:.2f} s after the last pod could become ready"
    assert cluster.requests <= requests_while_waiting + 2  # the final pod read, at most a re-read
