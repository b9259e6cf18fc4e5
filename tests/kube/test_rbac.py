"""Least privilege, proven by acting as the bot's ServiceAccount with the rules in deploy/base.

Each case binds a fresh ServiceAccount to deploy/base/rbac.yaml's rules minus one permission and
checks that exactly the operation needing it fails, with exit 2 and a message naming it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from commands.cli import main, parser
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import polling

pytestmark = pytest.mark.kube
API = "registry.example.com/team/api:1.4.2"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "base"
CACHE = "myctl-image-cache"


def _rbac_documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text()) if d]


def _bind(control_plane: cp.ControlPlane, name: str, missing: tuple[str, str, str] | None) -> Path:
    """deploy/base/rbac.yaml for ServiceAccount `name`, without the permission `missing`."""
    control_plane.apply_manifest_file(DEPLOY / "namespace.yaml")
    documents = []
    for original in _rbac_documents():
        doc = copy.deepcopy(original)
        doc["metadata"]["name"] = name
        if doc["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            doc["roleRef"]["name"] = name
            doc["subjects"][0]["name"] = name
        if doc["kind"] in ("ClusterRole", "Role") and missing:
            doc["rules"] = _without(doc["rules"], missing)
        documents.append(doc)
    control_plane.apply_objects(documents)
    kubeconfig = control_plane.service_account_kubeconfig("myctl", name)
    if missing:
        verb, group, resource = missing
        _wait_for_authorizer(kubeconfig, verb, group, resource, allowed=False)
    # ...and that the rest of the rules are in force too.
    present = next(
        p for p in (("patch", "apps", "deployments"), ("get", "", "configmaps")) if p != missing
    )
    _wait_for_authorizer(kubeconfig, *present, allowed=True)
    return kubeconfig


def _without(rules: list[dict[str, Any]], missing: tuple[str, str, str]) -> list[dict[str, Any]]:
    """Split rules so that exactly one (verb, group, resource) is left out."""
    verb, group, resource = missing
    kept = []
    for rule in rules:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            for res in rule["resources"]:
                verbs = [v for v in rule["verbs"] if res != resource or v != verb]
                if verbs:
                    kept.append({**rule, "resources": [res], "verbs": verbs})
        else:
            kept.append(rule)
    return kept


def _wait_for_authorizer(
    kubeconfig: Path, verb: str, group: str, resource: str, *, allowed: bool, name: str = CACHE
) -> None:
    """RBAC changes reach the authorizer through an informer; poll until it agrees."""
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    review = {
        "spec": {
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": resource,
                "namespace": "myctl",
                **({"name": name} if resource == "configmaps" and verb != "create" else {}),
            }
        }
    }

    def agrees() -> bool:
        answer = k8s_client.AuthorizationV1Api(api).create_self_subject_access_review(review)
        return bool(answer.status.allowed) == allowed

    try:
        polling.wait_until(
            agrees, timeout=30, what=f"RBAC: {verb} {resource} {name} allowed={allowed}"
        )
    finally:
        api.close()


def myctl(kubeconfig: Path, *args: str) -> Result:
    runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False)
    return CliRunner().invoke(parser.cli, ["--kubeconfig", str(kubeconfig), *args], obj=runtime)


def _reset_cache(control_plane: cp.ControlPlane) -> None:
    core = k8s_client.CoreV1Api(
        k8s_config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    )
    try:
        core.delete_namespaced_config_map(CACHE, "myctl")
    except k8s_client.ApiException as exc:
        if exc.status != 404:
            raise


def test_orchestrate_succeeds_with_exactly_the_deployed_rules_and_secrets_stay_closed(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    _reset_cache(control_plane)
    kubeconfig = _bind(control_plane, "myctl-full", None)
    result = myctl(kubeconfig, "orchestrate", "--image", API, "-n", kube_namespace)
    assert result.exit_code == 0, result.output
    again = myctl(kubeconfig, "rebuild", "--force", "-n", kube_namespace)  # update path
    assert again.exit_code == 0, again.output
    sa = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    with pytest.raises(k8s_client.ApiException) as denied:
        k8s_client.CoreV1Api(sa).list_namespaced_secret("myctl")
    assert denied.value.status == 403
    with pytest.raises(k8s_client.ApiException) as denied_everywhere:
        k8s_client.CoreV1Api(sa).list_secret_for_all_namespaces()
    assert denied_everywhere.value.status == 403


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (("list", "apps", "deployments"), "cannot list deployments.apps"),
        (("list", "apps", "statefulsets"), "cannot list statefulsets.apps"),
        (("list", "apps", "daemonsets"), "cannot list daemonsets.apps"),
        (("get", "apps", "deployments"), "cannot get deployments.apps"),
        (("patch", "apps", "deployments"), "cannot patch deployments.apps"),
        (("get", "", "configmaps"), 'cannot get configmaps in namespace "myctl"'),
        (("create", "", "configmaps"), 'cannot create configmaps in namespace "myctl"'),
        (("update", "", "configmaps"), 'cannot update configmaps in namespace "myctl"'),
        (("list", "", "pods"), "cannot list pods"),  # the digests before a restart
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else None,
)
def test_each_missing_permission_fails_its_operation_with_exit_2(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    missing: tuple[str, str, str],
    message: str,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    _reset_cache(control_plane)
    if missing[0] == "update":
        # Only a cache that already exists is updated: let the admin create it first.
        admin = myctl(control_plane.kubeconfig, "rebuild", "--force", "-n", "kube-public")
        assert admin.exit_code == 0, admin.output
    name = f"myctl-no-{missing[0]}-{missing[2]}"
    kubeconfig = _bind(control_plane, name, missing)
    result = myctl(kubeconfig, "orchestrate", "--image", API, "-n", kube_namespace)
    assert result.exit_code == 2, result.output
    assert message in result.output
    live = k8s_client.AppsV1Api(kube_admin).read_namespaced_deployment("api", kube_namespace)
    annotations = live.spec.template.metadata.annotations or {}
    assert "kubectl.kubernetes.io/restartedAt" not in annotations


def test_without_watch_a_waited_restart_says_it_restarted_but_could_not_follow(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", API)
    kubeconfig = _bind(
        control_plane, "myctl-no-watch-deployments", ("watch", "apps", "deployments")
    )
    result = myctl(
        kubeconfig, "restart", f"{kube_namespace}/deployment/api", "--wait", "-o", "json"
    )
    assert result.exit_code == 2, result.output
    target = json.loads(result.output)["targets"][0]
    assert target["outcome"] == "failed"
    assert "restarted, but not followed" in target["detail"]
    assert "cannot watch deployments.apps" in target["detail"]


def test_the_role_covers_exactly_the_cache_and_its_shard_names(
    control_plane: cp.ControlPlane, kube_namespace: str, kube_admin: k8s_client.ApiClient
) -> None:
    kubeconfig = _bind(control_plane, "myctl-shards", None)
    expected = {
        CACHE: {"get": True, "update": True, "delete": False},
        f"{CACHE}-0": {"get": True, "update": True, "delete": True},
        f"{CACHE}-15": {"get": True, "update": True, "delete": True},
        f"{CACHE}-16": {"get": False, "update": False, "delete": False},
        "someone-elses-config": {"get": False, "update": False, "delete": False},
    }
    for name, verbs in expected.items():
        for verb, allowed in verbs.items():
            _wait_for_authorizer(kubeconfig, verb, "", "configmaps", allowed=allowed, name=name)
    # And a sharded rebuild (shards created, then the stale ones deleted) works as the bot.
    for index in range(60):  # names like generated ones, so gzip cannot fold them into 1 KiB
        noise = hashlib.sha1(str(index).encode()).hexdigest()[:20]
        image = f"registry.example.com/t/a{index}-{noise}:1"
        objects.deployment(kube_admin, kube_namespace, f"svc-{noise}", image, replicas=0)
    _reset_cache(control_plane)
    try:
        for shard_bytes in (1024, 1024 * 1024 - 4096):
            config = kubeconfig.parent / f"shards-{shard_bytes}.yaml"
            config.write_text(yaml.safe_dump({"cache": {"shard_bytes": shard_bytes}}))
            runtime = main.Runtime(
                environ={"MYCTL_CONFIG": str(config)},
                stdin_is_tty=lambda: False,
                stderr_is_tty=lambda: False,
            )
            argv = ["--kubeconfig", str(kubeconfig), "rebuild", "--force", "-n", kube_namespace]
            result = CliRunner().invoke(parser.cli, argv, obj=runtime)
            assert result.exit_code == 0 and "not deleted" not in result.output, result.output
            assert ("shards" in result.output) == (shard_bytes == 1024), result.output
        listed = control_plane.request("GET", "/api/v1/namespaces/myctl/configmaps")
        assert [
            i["metadata"]["name"] for i in listed["items"] if "-cache-" in i["metadata"]["name"]
        ] == []
    finally:
        _reset_cache(control_plane)
