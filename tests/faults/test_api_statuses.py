"""The API server answering 500, 503 and 429 with `Retry-After` (through the TLS-terminating
tests/support/httpfaults.py, on the real control plane) during `restart` and `rebuild`: retries
are bounded (3 attempts a request), a transient status is ridden out, a persistent one fails
exactly the requests it hits, and the report and exit code are true (docs/reliability.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client as k8s_client

from commands.kube import transport
from tests.faults.test_api_faults import IMAGE, NAMES, annotated, myctl
from tests.kube import objects
from tests.support.httpfaults import HttpFaults

pytestmark = pytest.mark.kube
DEPLOYMENTS = "/deployments"


def _restart(kubeconfig: Path, namespace: str) -> tuple[int, dict[str, str], dict[str, object]]:
    code, report = myctl(
        kubeconfig, "restart", *(f"deployment/{n}" for n in NAMES), "-n", namespace
    )
    assert "targets" in report, (code, report)
    return code, {t["name"]: t["outcome"] for t in report["targets"]}, report


def test_transient_500_503_and_429_are_ridden_out_and_every_target_is_restarted(
    kube_namespace: str, kube_admin: k8s_client.ApiClient, faults: tuple[HttpFaults, Path]
) -> None:
    for name in NAMES:
        objects.deployment(kube_admin, kube_namespace, name, IMAGE)
    proxy, kubeconfig = faults
    proxy.fail("GET", DEPLOYMENTS, [500])
    # Two failures in all: even if both hit one target, its third attempt passes.
    proxy.fail("PATCH", DEPLOYMENTS, [503, 429], retry_after="1")

    code, outcomes, report = _restart(kubeconfig, kube_namespace)

    assert code == 0, report
    assert set(outcomes.values()) == {"restarted"} and set(outcomes) == set(NAMES)
    assert annotated(kube_admin, kube_namespace) == set(NAMES)
    assert proxy.injected("PATCH") == [503, 429] and proxy.injected("GET") == [500]
    assert proxy.sent("PATCH") == len(NAMES) + 2  # each injected failure retried once
    assert proxy.retried_after(429) >= 0.9  # Retry-After: 1 honoured (the backoff is 0.2-0.4 s)


def test_a_target_the_server_keeps_refusing_fails_after_bounded_retries_and_only_it(
    kube_namespace: str, kube_admin: k8s_client.ApiClient, faults: tuple[HttpFaults, Path]
) -> None:
    for name in NAMES:
        objects.deployment(kube_admin, kube_namespace, name, IMAGE)
    proxy, kubeconfig = faults
    victim = NAMES[1]
    proxy.fail("PATCH", f"{DEPLOYMENTS}/{victim}", [503], forever=True)

    code, outcomes, report = _restart(kubeconfig, kube_namespace)

    assert code == 3, report  # partial: some restarted, one failed
    assert outcomes[victim] == "failed"
    assert {n for n, o in outcomes.items() if o == "restarted"} == set(NAMES) - {victim}
    assert annotated(kube_admin, kube_namespace) == set(NAMES) - {victim}
    assert proxy.injected("PATCH", victim) == [503] * transport.ATTEMPTS  # bounded


def test_rebuild_rides_out_transient_statuses_and_fails_cleanly_on_a_persistent_one(
    kube_namespace: str, kube_admin: k8s_client.ApiClient, faults: tuple[HttpFaults, Path]
) -> None:
    for name in NAMES[:3]:
        objects.deployment(kube_admin, kube_namespace, name, IMAGE)
    proxy, kubeconfig = faults
    scope = ("-n", kube_namespace, "--cache-namespace", kube_namespace)
    proxy.fail("GET", DEPLOYMENTS, [429, 500], retry_after="1")
    proxy.fail("POST", "/configmaps", [503])

    code, report = myctl(kubeconfig, "rebuild", "--force", *scope)

    assert code == 0, report
    assert myctl(kubeconfig, "check", *scope)[0] == 0
    assert proxy.injected("POST", "/configmaps") == [503]

    proxy.fail("PUT", "/configmaps", [503], forever=True)
    code, report = myctl(kubeconfig, "rebuild", "--force", *scope)

    assert code == 1 and report.get("error"), report
    assert proxy.injected("PUT", "/configmaps") == [503] * transport.ATTEMPTS
    code, checked = myctl(kubeconfig, "check", *scope)
    assert code == 0, checked  # the cache written before is untouched and still valid
