"""Canary waves and rollback against the real API server, the local registry and the fake
kubelet's nodes (docs/rollouts.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client

from commands.cli import main, parser
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import registry as reg

pytestmark = pytest.mark.kube


def myctl(
    control_plane: cp.ControlPlane,
    namespace: str,
    *args: str,
    environ: dict[str, str] | None = None,
) -> tuple[Result, Any]:
    """The real CLI with `-o json` given after the subcommand, as users do."""
    scope = [] if args[0] == "rollback" else ["-n", namespace]  # a rollback's scope is its run
    argv = [*args, *scope, "--cache-namespace", namespace, "-o", "json"]
    argv += ["--kubeconfig", str(control_plane.kubeconfig)]
    runtime = main.Runtime(
        environ=environ or {}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False
    )
    result = CliRunner().invoke(parser.cli, argv, obj=runtime)
    return result, json.loads(result.output)


def _targets(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    restart = payload.get("restart", payload)
    return {t["name"]: t for t in restart["targets"]}


def _deployment(control_plane: cp.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
    obj: dict[str, Any] = control_plane.request("GET", path)
    return obj


def _versions(
    control_plane: cp.ControlPlane, namespace: str, names: tuple[str, ...]
) -> dict[str, str]:
    return {
        n: _deployment(control_plane, namespace, n)["metadata"]["resourceVersion"] for n in names
    }


@pytest.fixture
def image(registry: reg.LocalRegistry, control_plane: cp.ControlPlane) -> tuple[str, str, str]:
    """A tag on the local registry, its repository and its first digest."""
    repo = f"team/{control_plane.unique_name('svc')}"
    return registry.ref(repo, "1.0"), repo, registry.push_image(repo, "1.0", seed="v1")


def test_a_canary_that_never_becomes_ready_leaves_every_other_target_untouched(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    image: tuple[str, str, str],
) -> None:
    ref, repo, _v1 = image
    # The canary's pods never become Ready (the fake kubelet honours the label).
    objects.deployment(kube_admin, kube_namespace, "a-canary", ref, never_ready=True)
    for name in ("b", "c"):
        objects.deployment(kube_admin, kube_namespace, name, ref)
        objects.rollout_settled(control_plane, kube_namespace, name, 1)
    registry.push_image(repo, "1.0", seed="v2")
    before = _versions(control_plane, kube_namespace, ("b", "c"))
    args = ("orchestrate", "--image", ref, "--canary", "1", "--timeout", "5s")
    result, payload = myctl(control_plane, kube_namespace, *args)
    assert result.exit_code == 1, result.output
    found = _targets(payload)
    assert found["a-canary"]["outcome"] == "failed"
    assert "timed out" in found["a-canary"]["detail"]
    assert (found["b"]["outcome"], found["c"]["outcome"]) == ("not-started", "not-started")
    assert _versions(control_plane, kube_namespace, ("b", "c")) == before


def test_a_canary_whose_digest_stays_unchanged_leaves_every_other_target_untouched(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    image: tuple[str, str, str],
) -> None:
    ref, _repo, v1 = image
    for name in ("a", "b", "c"):
        objects.deployment(kube_admin, kube_namespace, name, ref)
    for name in ("a", "b", "c"):
        objects.rollout_settled(control_plane, kube_namespace, name, 1)
    before = _versions(control_plane, kube_namespace, ("b", "c"))
    # The tag was never re-pushed: the canary's new pods run v1 again.
    result, payload = myctl(
        control_plane, kube_namespace, "orchestrate", "--image", ref, "--canary", "1"
    )
    assert result.exit_code == 1, result.output
    found = _targets(payload)
    assert (found["a"]["outcome"], found["a"]["digests_after"]) == ("unchanged", [v1])
    assert {found["b"]["outcome"], found["c"]["outcome"]} == {"not-started"}
    assert _versions(control_plane, kube_namespace, ("b", "c")) == before


def test_a_good_canary_and_then_the_rest_are_all_updated(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    image: tuple[str, str, str],
) -> None:
    ref, repo, v1 = image
    names = ("a", "b", "c")
    for name in names:
        objects.deployment(kube_admin, kube_namespace, name, ref)
    for name in names:
        objects.rollout_settled(control_plane, kube_namespace, name, 1)
    v2 = registry.push_image(repo, "1.0", seed="v2")
    result, payload = myctl(
        control_plane, kube_namespace, "orchestrate", "--image", ref, "--canary", "1"
    )
    assert result.exit_code == 0, result.output
    assert {
        n: (t["verified"], t["digests_before"], t["digests_after"])
        for n, t in _targets(payload).items()
    } == {n: ("updated", [v1], [v2]) for n in names}


def test_push_v2_then_rollback_runs_v1_again_on_every_restarted_workload(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    registry: reg.LocalRegistry,
    image: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    ref, repo, v1 = image
    state = {"MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}", "USER": "alice"}
    names = ("api", "web")
    for name in names:
        objects.deployment(kube_admin, kube_namespace, name, ref, replicas=2)
    for name in names:
        objects.rollout_settled(control_plane, kube_namespace, name, 2)
    # v1 rolled out (already running it: up to date), then v2 pushed and rolled out.
    first, _ = myctl(
        control_plane,
        kube_namespace,
        "orchestrate",
        "--image",
        ref,
        "--expect-digest",
        v1,
        environ=state,
    )
    assert first.exit_code == 0, first.output
    v2 = registry.push_image(repo, "1.0", seed="v2")
    second, payload = myctl(
        control_plane, kube_namespace, "orchestrate", "--image", ref, "--wait", environ=state
    )
    assert second.exit_code == 0, second.output
    for name in names:
        objects.rollout_settled(control_plane, kube_namespace, name, 2)
        assert set(objects.pods_digests(control_plane, kube_namespace, name).values()) == {v2}

    result, payload = myctl(control_plane, kube_namespace, "rollback", environ=state)
    assert result.exit_code == 0, result.output
    assert payload["command"] == "rollback" and payload["undoes"]
    found = _targets(payload)
    assert {n: (t["verified"], t["digests_after"]) for n, t in found.items()} == {
        n: ("updated", [v1]) for n in names
    }
    for name in names:
        objects.rollout_settled(control_plane, kube_namespace, name, 2)
        assert set(objects.pods_digests(control_plane, kube_namespace, name).values()) == {v1}
        container = _deployment(control_plane, kube_namespace, name)["spec"]["template"]["spec"][
            "containers"
        ][0]
        assert container["image"] == f"{ref}@{v1}"


def test_rollback_without_a_state_store_is_exit_2_and_changes_nothing(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    image: tuple[str, str, str],
) -> None:
    ref, _repo, _v1 = image
    objects.deployment(kube_admin, kube_namespace, "web", ref)
    objects.rollout_settled(control_plane, kube_namespace, "web", 1)
    before = _versions(control_plane, kube_namespace, ("web",))
    result, payload = myctl(control_plane, kube_namespace, "rollback")
    assert result.exit_code == 2
    assert "MYCTL_STATE_URL" in payload["error"]
    assert _versions(control_plane, kube_namespace, ("web",)) == before
