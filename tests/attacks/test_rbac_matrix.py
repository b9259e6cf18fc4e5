"""The bot's ServiceAccount, bound to exactly deploy/base/rbac.yaml, asked on the real API server
(SelfSubjectAccessReview, acting as it) for every verb on every resource kind that matters: it
may do what its rules list and nothing else — no Secrets anywhere, nothing outside its
namespace but reading and patching workloads and listing pods."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.kube import test_rbac
from tests.support import controlplane as cp
from tests.support import polling

pytestmark = pytest.mark.kube
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
# (group, resource, subresource)
RESOURCES = (
    ("", "secrets", ""), ("", "configmaps", ""), ("", "pods", ""), ("", "pods", "exec"),
    ("", "pods", "log"), ("", "pods", "eviction"), ("", "services", ""),
    ("", "serviceaccounts", ""), ("", "serviceaccounts", "token"), ("", "namespaces", ""),
    ("", "nodes", ""), ("", "events", ""), ("", "persistentvolumeclaims", ""),
    ("apps", "deployments", ""), ("apps", "deployments", "scale"), ("apps", "statefulsets", ""),
    ("apps", "daemonsets", ""), ("apps", "replicasets", ""), ("apps", "controllerrevisions", ""),
    ("batch", "jobs", ""), ("batch", "cronjobs", ""),
    ("coordination.k8s.io", "leases", ""), ("networking.k8s.io", "ingresses", ""),
    ("rbac.authorization.k8s.io", "roles", ""), ("rbac.authorization.k8s.io", "rolebindings", ""),
    ("rbac.authorization.k8s.io", "clusterroles", ""),
    ("rbac.authorization.k8s.io", "clusterrolebindings", ""),
    ("apiextensions.k8s.io", "customresourcedefinitions", ""),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", ""),
    ("certificates.k8s.io", "certificatesigningrequests", ""),
)  # fmt: skip
WORKLOADS = {"deployments", "statefulsets", "daemonsets"}
CACHE = "myctl-image-cache"


def expected(verb: str, group: str, resource: str, sub: str, namespace: str, name: str) -> bool:
    """deploy/base/rbac.yaml, written out by hand: a change there must change this too."""
    if sub:
        return False
    if group == "apps" and resource in WORKLOADS:
        return verb in ("get", "list", "watch", "patch")
    if (group, resource) == ("", "pods"):
        return verb == "list"
    if namespace != "myctl":
        return False
    if (group, resource) == ("", "configmaps"):
        return verb == "create" or (name == CACHE and verb in ("get", "update"))
    if (group, resource) == ("coordination.k8s.io", "leases"):
        return verb in ("get", "create", "update")
    return False


def _review(api: k8s_client.ApiClient, attributes: dict[str, Any]) -> bool:
    body = {"spec": {"resourceAttributes": attributes}}
    answer = k8s_client.AuthorizationV1Api(api).create_self_subject_access_review(body)
    return bool(answer.status.allowed)


def test_the_service_account_may_do_exactly_what_its_rules_list(
    control_plane: cp.ControlPlane,
) -> None:
    kubeconfig = test_rbac._bind(control_plane, "myctl-matrix", None)
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    wrong: list[str] = []
    checked = 0
    try:
        polling.wait_until(
            lambda: _review(api, {"verb": "list", "resource": "pods"}), what="binding in force"
        )
        for verb, (group, resource, sub), (namespace, name) in itertools.product(
            VERBS, RESOURCES, (("myctl", ""), ("myctl", CACHE), ("default", ""), ("", ""))
        ):
            attributes = {"verb": verb, "group": group, "resource": resource}
            if sub:
                attributes["subresource"] = sub
            if namespace:
                attributes["namespace"] = namespace
            if name:
                attributes["name"] = name
            allowed = _review(api, attributes)
            want = expected(verb, group, resource, sub, namespace, name)
            checked += 1
            if allowed != want:
                wrong.append(f"{verb} {group or 'core'}/{resource}/{sub} in {namespace!r}"
                             f" name={name!r}: allowed={allowed}")  # fmt: skip
    finally:
        api.close()
    assert checked == len(VERBS) * len(RESOURCES) * 4
    assert wrong == []


def test_the_service_account_cannot_read_a_secret_even_in_its_own_namespace(
    control_plane: cp.ControlPlane, kube_admin: k8s_client.ApiClient
) -> None:
    control_plane.apply_objects(
        [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "slack", "namespace": "myctl"},
          "stringData": {"SLACK_BOT_TOKEN": "xoxb-never-readable"}}]
    )  # fmt: skip
    kubeconfig = test_rbac._bind(control_plane, "myctl-secrets", None)
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    core = k8s_client.CoreV1Api(api)
    try:
        for call in (
            lambda: core.read_namespaced_secret("slack", "myctl"),
            lambda: core.list_namespaced_secret("myctl"),
            lambda: core.list_secret_for_all_namespaces(),
        ):
            with pytest.raises(k8s_client.ApiException) as denied:
                call()
            assert denied.value.status == 403
            assert "xoxb-never-readable" not in str(denied.value.body)
    finally:
        api.close()
