"""Engine processes (commands/invoke/processes.py) against the real API server: results, events,
logs and the canary question cross the pipe; a lost worker is an error and is replaced; workers
run niced and never outlive the process that started them."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client as k8s_client

from bot import logs
from commands.cli import parser
from commands.engine.context import Engine
from commands.invoke import dispatch, invocation, processes, worker
from commands.kube import client
from commands.values import errors, events, plans, restarts
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import polling

pytestmark = pytest.mark.kube
IMAGE = "registry.example.com/team/web:1.0"


@pytest.fixture
def pool(control_plane: cp.ControlPlane) -> Iterator[processes.EnginePool]:
    made = processes.EnginePool(worker.Recipe(str(control_plane.kubeconfig), None), size=2)
    yield made
    made.close()


@dataclass
class World:
    """A namespace on the real API server with pods the fake kubelet runs, and a pool."""

    plane: cp.ControlPlane
    admin: k8s_client.ApiClient
    namespace: str
    pool: processes.EnginePool


@pytest.fixture
def world(
    control_plane: cp.ControlPlane,
    fake_kubelet: object,
    kube_admin: k8s_client.ApiClient,
    kube_namespace: str,
    pool: processes.EnginePool,
) -> World:
    return World(control_plane, kube_admin, kube_namespace, pool)


def parse(namespace: str, *argv: str) -> invocation.Invocation:
    return parser.parse([*argv, "-n", namespace, "--cache-namespace", namespace])


def in_worker(
    pool: processes.EnginePool,
    inv: invocation.Invocation,
    gate: processes.Gate = lambda _canary: True,
) -> tuple[dispatch.Result, list[events.Event]]:
    seen: list[events.Event] = []
    result = pool.execute(inv, invocation.settings_for(inv, {}), report=seen.append, gate=gate)
    return result, seen


def test_a_select_in_a_worker_is_the_select_of_this_process(
    control_plane: cp.ControlPlane,
    kube_admin: k8s_client.ApiClient,
    kube_namespace: str,
    pool: processes.EnginePool,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "web", IMAGE, replicas=0)
    built, seen = in_worker(pool, parse(kube_namespace, "rebuild"))
    assert built.exit_code == 0
    assert any(isinstance(e, events.StepFinished) and e.step == "rebuild" for e in seen)

    inv = parse(kube_namespace, "select", IMAGE)
    there, _ = in_worker(pool, inv)
    cluster = client.connect(str(control_plane.kubeconfig), None)
    here = dispatch.execute(
        inv,
        lambda: Engine(cluster=cluster, settings=invocation.settings_for(inv, {})),
        lambda _plan: True,
    )
    assert there.to_json() == here.to_json()
    assert [m["name"] for m in there.to_json()["matches"]] == ["web"]
    assert len(pool.idle()) == 1  # the same worker served both runs


def test_a_restart_with_wait_reports_each_target_and_the_logs_carry_the_run(
    control_plane: cp.ControlPlane,
    fake_kubelet: object,
    kube_admin: k8s_client.ApiClient,
    kube_namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "web", IMAGE)
    caplog.set_level(logging.DEBUG, logger="commands.invoke.worker")
    recipe = worker.Recipe(str(control_plane.kubeconfig), None, log_level=logging.DEBUG)
    pool = processes.EnginePool(recipe, size=1)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        logs.bind_run(run_id="run-42", command="restart")
        inv = parse(kube_namespace, "restart", "deployment/web", "--wait", "--timeout", "60s")
        result, seen = in_worker(pool, inv)
    finally:
        logging.getLogger().removeHandler(handler)
        pool.close()
    assert result.exit_code == 0, result.to_json()
    done = [e for e in seen if isinstance(e, events.ItemDone)]
    assert [(e.item, e.outcome) for e in done][-1][1] == events.Outcome.RESTARTED
    annotations = (
        k8s_client.AppsV1Api(kube_admin)
        .read_namespaced_deployment("web", kube_namespace)
        .spec.template.metadata.annotations
    )
    assert "kubectl.kubernetes.io/restartedAt" in (annotations or {})
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    connected = [r for r in records if "connected to the cluster" in r["message"]]
    assert connected and connected[0]["run_id"] == "run-42"
    assert connected[0]["logger"] == "commands.invoke.worker"


def test_the_canary_question_is_answered_by_this_process(world: World) -> None:
    control_plane, kube_admin, kube_namespace, pool = (
        world.plane, world.admin, world.namespace, world.pool
    )  # fmt: skip
    for name in ("a", "b"):
        objects.deployment(kube_admin, kube_namespace, name, IMAGE)
        objects.rollout_settled(control_plane, kube_namespace, name, 1)
    asked: list[tuple[restarts.TargetOutcome, ...]] = []

    def stop(canary: tuple[restarts.TargetOutcome, ...]) -> bool:
        asked.append(canary)
        return False

    argv = ("restart", "deployment/a", "deployment/b", "--canary", "1", "--timeout", "60s")
    result, _ = in_worker(pool, parse(kube_namespace, *argv), gate=stop)
    assert len(asked) == 1 and [o.target.name for o in asked[0]] == ["a"]
    outcomes = {t["name"]: t["outcome"] for t in result.to_json()["targets"]}
    assert outcomes == {"a": "restarted", "b": "not-started"}
    assert result.exit_code == errors.EXIT_PARTIAL

    def broken(_canary: tuple[restarts.TargetOutcome, ...]) -> bool:
        raise errors.ConfigError("no approvers in slack.approvals.approvers")

    # The gate's error is raised in the worker as what it is, so the engine treats it as it
    # would in one process: a warning, and the rest is left alone.
    result, seen = in_worker(pool, parse(kube_namespace, *argv), gate=broken)
    warnings = [e.message for e in seen if isinstance(e, events.Note) and e.warning]
    assert any("could not ask" in w and "no approvers" in w for w in warnings)
    outcomes = {t["name"]: t["outcome"] for t in result.to_json()["targets"]}
    assert outcomes == {"a": "restarted", "b": "not-started"}


def test_errors_come_back_as_what_they_are(
    control_plane: cp.ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    missing = processes.EnginePool(worker.Recipe(str(tmp_path / "no-such-kubeconfig"), None), 1)
    try:
        with pytest.raises(errors.ClusterUnreachable) as raised:
            in_worker(missing, parse(kube_namespace, "check"))
        assert raised.value.exit_code == errors.EXIT_USAGE
        assert "no-such-kubeconfig" in str(raised.value)
    finally:
        missing.close()


def test_a_worker_killed_mid_run_is_engine_lost_and_the_next_run_gets_a_new_one(
    world: World,
) -> None:
    kube_admin, kube_namespace, pool = world.admin, world.namespace, world.pool
    objects.deployment(kube_admin, kube_namespace, "stuck", IMAGE, never_ready=True)
    inv = parse(kube_namespace, "restart", "deployment/stuck", "--wait", "--timeout", "5m")
    lost: list[BaseException] = []

    def run() -> None:
        try:
            in_worker(pool, inv)
        except BaseException as exc:
            lost.append(exc)

    def patched() -> bool:
        template = (
            k8s_client.AppsV1Api(kube_admin)
            .read_namespaced_deployment("stuck", kube_namespace)
            .spec.template
        )
        return "kubectl.kubernetes.io/restartedAt" in (template.metadata.annotations or {})

    thread = threading.Thread(target=run)
    thread.start()
    polling.wait_until(patched, timeout=60, what="the restart's patch")
    (pid,) = pool.running()
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive()
    assert len(lost) == 1 and isinstance(lost[0], errors.EngineLost)
    assert lost[0].exit_code == errors.EXIT_FAILED
    assert "ended unexpectedly" in str(lost[0])
    result, _ = in_worker(pool, parse(kube_namespace, "check"))
    assert result.exit_code in (0, 1)  # answered (an empty cache is a condition, not a crash)
    assert pid not in pool.idle()


def _niceness(pid: int) -> int:
    # /proc/PID/stat: the 19th field is the nice value (after the parenthesized command name).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def test_workers_run_niced_and_never_outlive_their_parent(
    control_plane: cp.ControlPlane, tmp_path: Path
) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import time
            from commands.invoke import processes, worker
            if __name__ == "__main__":  # the fork server imports this file again
                recipe = worker.Recipe({str(control_plane.kubeconfig)!r}, None, nice=7)
                pool = processes.EnginePool(recipe, size=1)
                pool.warm()
                deadline = time.monotonic() + 30  # no worker by then: print 0, the test fails
                while not pool.idle() and time.monotonic() < deadline:
                    time.sleep(0.05)
                print((pool.idle() or (0,))[0], flush=True)
                time.sleep(600)  # the parent stays alive until the test kills it
            """
        )
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        wanted = _niceness(os.getpid()) + 7  # set by the worker itself, once it runs
        polling.wait_until(lambda: _niceness(child) == wanted, timeout=10, what="niced")
        parent.kill()
        parent.wait(10)
        polling.wait_until(lambda: not Path(f"/proc/{child}").exists(), timeout=10)
    finally:
        parent.kill()


def test_an_approval_plan_is_gathered_in_a_worker(world: World) -> None:
    objects.deployment(world.admin, world.namespace, "web", IMAGE, replicas=0)
    config = invocation.settings_for(parse(world.namespace, "rebuild"), {})
    plan = world.pool.call("commands.engine.plans:gather", config, "rebuild")
    assert isinstance(plan, plans.Plan)
    assert plan.scanned == 1 and plan.scan_error == ""
    assert plan.cache == f"{world.namespace}/myctl-image-cache"
    # Only the engine's functions can be called there.
    with pytest.raises(ValueError, match="not an engine function"):
        world.pool.call("os:getcwd", config)
