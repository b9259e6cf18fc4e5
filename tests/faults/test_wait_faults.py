"""Faults during `restart --wait` on the real control plane, injected by request through the
TLS-terminating tests/support/httpfaults.py, which forwards watches as they stream: 500, 503 and
429 (`Retry-After`) on the watches, reads and patches; watches cut mid-stream; watches expired
(410) as an ERROR event and as the answer's status. The fake kubelet makes the pods Ready, so
every rollout can finish. Whatever happens on the way, the report is true: each target reported
restarted is annotated and its rollout complete, each annotated target is reported, and a target
not followed to the end says it was restarted (docs/reliability.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client

from commands.cli import main
from commands.invoke import invocation
from commands.kube import client, port, transport
from commands.kube import kubeconfig as kube_config
from commands.values import settings
from tests.faults.test_api_faults import IMAGE, annotated, restart_targets
from tests.kube import objects
from tests.support.httpfaults import Fault, HttpFaults

pytestmark = pytest.mark.kube
NAMES = ("wait-0", "wait-1", "wait-2")
DEPLOYMENTS = "/deployments"
READS = DEPLOYMENTS + "/"  # GET …/deployments/NAME; a watch is GET …/deployments?watch=true


@pytest.fixture
def running(kube_namespace: str, kube_admin: k8s_client.ApiClient) -> str:
    """NAMES as Deployments whose first rollout is over, so `--wait` follows only ours."""
    objects.running(kube_admin, kube_namespace, NAMES, IMAGE)
    return kube_namespace


def restart_wait(
    kubeconfig: Path, namespace: str, connect: main.Connect = main.connect_to_kubernetes
) -> tuple[int, dict[str, Any]]:
    return restart_targets(
        kubeconfig, namespace, NAMES, "--wait", "--timeout", "40s", connect=connect
    )


def assert_all_followed_to_the_end(
    api: k8s_client.ApiClient, namespace: str, code: int, targets: dict[str, Any]
) -> None:
    assert code == 0, targets
    assert annotated(api, namespace, NAMES) == set(NAMES)
    for name, target in targets.items():
        assert target["outcome"] == "restarted", target
        assert target["detail"].startswith("rollout complete"), target
        assert objects.deployment_available(api, namespace, name), target


def test_500_503_and_429_on_watches_reads_and_patches_are_ridden_out_during_wait(
    kube_admin: k8s_client.ApiClient, running: str, faults: tuple[HttpFaults, Path]
) -> None:
    proxy, kubeconfig = faults
    proxy.fail("GET", DEPLOYMENTS, [500], watch=False)  # a target's read before its patch
    # Two failures of a kind: even if both hit one target, its third attempt passes.
    proxy.fail("PATCH", DEPLOYMENTS, [503, 429], retry_after="1")
    proxy.fail("GET", DEPLOYMENTS, [429, 503], retry_after="1", watch=True)

    code, targets = restart_wait(kubeconfig, running)

    assert_all_followed_to_the_end(kube_admin, running, code, targets)
    assert proxy.injected("GET", watch=True) == [429, 503]
    assert proxy.injected("PATCH") == [503, 429] and proxy.injected("GET", watch=False) == [500]
    # Each failure retried: a watch per target plus the two refused.
    assert proxy.sent("GET", watch=True) >= len(NAMES) + 2
    assert proxy.sent("PATCH") == len(NAMES) + 2
    assert proxy.retried_after(429) >= 0.9  # Retry-After: 1 honoured on a watch or a patch


def test_watches_refused_for_ever_end_the_wait_after_bounded_retries_saying_restarted(
    kube_admin: k8s_client.ApiClient, running: str, faults: tuple[HttpFaults, Path]
) -> None:
    proxy, kubeconfig = faults
    proxy.fail("GET", DEPLOYMENTS, [503], forever=True, watch=True)

    code, targets = restart_wait(kubeconfig, running)

    assert code == 1, targets  # every patch landed, no rollout could be followed
    assert annotated(kube_admin, running, NAMES) == set(NAMES)
    for target in targets.values():
        assert target["outcome"] == "failed", target
        assert target["detail"].startswith("restarted, but not followed"), target
        assert "503" in target["detail"] and "gave up after 3 attempts" in target["detail"]
    assert proxy.sent("GET", watch=True) == transport.ATTEMPTS * len(NAMES)  # bounded


WATCH_FAULTS = {
    "cut-after-one-event": lambda proxy: proxy.cut_watch(DEPLOYMENTS, after_events=1, times=3),
    "cut-before-any-event": lambda proxy: proxy.cut_watch(DEPLOYMENTS, after_events=0, times=3),
    "error-event-410": lambda proxy: proxy.expire_watch(DEPLOYMENTS, times=3),
    "http-410": lambda proxy: proxy.fail("GET", DEPLOYMENTS, [410] * 3, watch=True),
}


@pytest.mark.parametrize("fault", list(WATCH_FAULTS))
def test_a_watch_cut_or_expired_mid_wait_is_resumed_from_a_fresh_read_to_the_true_end(
    kube_admin: k8s_client.ApiClient, running: str, faults: tuple[HttpFaults, Path], fault: str
) -> None:
    proxy, kubeconfig = faults
    WATCH_FAULTS[fault](proxy)

    code, targets = restart_wait(kubeconfig, running)

    assert_all_followed_to_the_end(kube_admin, running, code, targets)
    met = {
        "cut-after-one-event": proxy.faulted(Fault.CUT),
        "cut-before-any-event": proxy.faulted(Fault.CUT),
        "error-event-410": proxy.faulted(Fault.EXPIRE),
        "http-410": len(proxy.injected("GET", watch=True)),
    }[fault]
    assert met == 3, proxy.seen  # every fault really met a watch
    # Resumed from a fresh read: a GET of the target after each broken watch (besides the read
    # before the patch), then a new watch unless that read found the rollout over.
    assert proxy.sent("GET", READS, watch=False) >= len(NAMES) + 3


def short_watches(span: float, read_timeout: float) -> main.Connect:
    """The CLI's connection with each watch asking the server for `span` seconds (not a minute)
    and the read timeout `read_timeout`, so a test meets a silent watch fast."""

    def connect(options: invocation.GlobalOptions, config: settings.Settings) -> port.Cluster:
        where = kube_config.load(options.kubeconfig, options.context, environ={}, direct=True)
        return client.KubeCluster(
            transport.configure(where, config.restart.concurrency),
            request_timeout=(transport.REQUEST_TIMEOUT[0], read_timeout),
            watch_span_seconds=span,
        )

    return connect


def test_a_watch_gone_silent_is_given_up_and_resumed_long_before_the_deadline(
    kube_admin: k8s_client.ApiClient, running: str, faults: tuple[HttpFaults, Path]
) -> None:
    proxy, kubeconfig = faults
    proxy.silence_watch(DEPLOYMENTS, after_events=1, times=3)
    started = time.monotonic()

    code, targets = restart_wait(kubeconfig, running, short_watches(1.0, read_timeout=2.0))

    elapsed = time.monotonic() - started
    assert_all_followed_to_the_end(kube_admin, running, code, targets)
    assert proxy.faulted(Fault.SILENCE) == 3, proxy.seen
    assert proxy.sent("GET", READS, watch=False) >= len(NAMES) + 3  # resumed from fresh reads
    # Given up after its 1 s span plus the 2 s read timeout, not at the 40 s deadline (nor
    # after 40 s plus the read timeout, as when a watch asked for the whole wait).
    assert elapsed < 20, elapsed
