"""Leader election and scheduled reports against the real control plane and the Slack emulator."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot import commandline, metrics
from bot.runs import delivery, engines
from bot.scheduling import scheduler
from commands.engine import rebuild
from commands.engine.context import Engine
from commands.kube import client, lease, lease_api
from commands.state import store as state_store
from commands.values import clock, settings
from tests.support import controlplane as cp
from tests.support import manifests, polling
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN, SIGNING_SECRET

pytestmark = pytest.mark.kube
REPO = Path(__file__).resolve().parents[3]
FAST = lease.LeaseTiming(lease_duration=3, renew_deadline=2, retry_period=0.3)
# Polling period of the waits: short, because some tests measure how soon a handover happens.
POLL = 0.05


class Tracker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, float]] = []  # (who, started|stopped, monotonic)

    def callbacks(self, who: str) -> dict[str, Callable[[], None]]:
        def mark(what: str) -> Callable[[], None]:
            def record() -> None:
                with self.lock:
                    self.events.append((who, what, time.monotonic()))

            return record

        return {"on_started_leading": mark("started"), "on_stopped_leading": mark("stopped")}

    def leaders(self) -> set[str]:
        leading: set[str] = set()
        with self.lock:
            for who, what, _ in self.events:
                (leading.add if what == "started" else leading.discard)(who)
        return leading


def _elector(
    plane: cp.ControlPlane, ns: str, who: str, tracker: Tracker, kubeconfig: Path | None = None
) -> lease.LeaderElector:
    backend = lease_api.connect(
        str(kubeconfig or plane.kubeconfig), None, ns, "myctl-scheduler", FAST
    )
    return lease.LeaderElector(backend, who, timing=FAST, **tracker.callbacks(who))


def _lease(plane: cp.ControlPlane, ns: str) -> dict[str, Any]:
    return plane.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/myctl-scheduler"
    )


def test_exactly_one_elector_leads_and_a_stopped_leader_hands_over(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    tracker = Tracker()
    a = _elector(control_plane, kube_namespace, "a", tracker).start()
    b = _elector(control_plane, kube_namespace, "b", tracker).start()
    try:
        polling.wait_until(tracker.leaders, 10, "a leader", interval=POLL)
        deadline = time.monotonic() + 3 * FAST.lease_duration
        while time.monotonic() < deadline:  # observe several renewals: never two leaders
            assert len(tracker.leaders()) == 1
            time.sleep(0.05)
        (first,) = tracker.leaders()
        assert _lease(control_plane, kube_namespace)["spec"]["holderIdentity"] == first
        leader, other = (a, b) if first == "a" else (b, a)
        stopped_at = time.monotonic()
        leader.stop(release=True)
        polling.wait_until(
            lambda: tracker.leaders() == {other.identity},
            FAST.lease_duration,
            "handover",
            interval=POLL,
        )
        handover = time.monotonic() - stopped_at
        assert handover < FAST.lease_duration  # released: the next retry takes it
        assert _lease(control_plane, kube_namespace)["spec"]["holderIdentity"] == other.identity
    finally:
        a.stop()
        b.stop()


def test_leader_whose_renewals_fail_stops_before_the_lease_expires(
    control_plane: cp.ControlPlane, kube_namespace: str
) -> None:
    ns = kube_namespace
    control_plane.apply_objects([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "lease", "namespace": ns},
         "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                    "verbs": ["get", "create", "update"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "lease", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "lease"},
         "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": ns}]},
    ])  # fmt: skip
    kubeconfig = control_plane.service_account_kubeconfig(ns, "bot")
    tracker = Tracker()
    a = _elector(control_plane, ns, "a", tracker, kubeconfig).start()
    b: lease.LeaderElector | None = None
    try:
        polling.wait_until(lambda: tracker.leaders() == {"a"}, 10, "a leads", interval=POLL)
        b = _elector(control_plane, ns, "b", tracker).start()  # admin: never loses access
        # Cut a off: its renewals are now refused (403), as with an API server it cannot reach.
        control_plane.request(
            "DELETE", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/lease"
        )
        polling.wait_until(
            lambda: "b" in tracker.leaders(), 4 * FAST.lease_duration, "b takes over", interval=POLL
        )
        with tracker.lock:
            events = list(tracker.events)
        a_stopped = next(t for who, what, t in events if (who, what) == ("a", "stopped"))
        b_started = next(t for who, what, t in events if (who, what) == ("b", "started"))
        assert a_stopped < b_started  # never two leaders
        assert not a.is_leader
    finally:
        a.stop(release=False)
        if b is not None:
            b.stop()


# ---------------------------------------------------------------- reports in a real cluster
@pytest.fixture
def reporter(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    slack_emulator: SlackEmulator,
    tmp_path: Path,
) -> Iterator[tuple[scheduler.Schedules, settings.Settings]]:
    config = settings.Settings(
        cache=settings.CacheSettings(namespace=kube_namespace),
        scope=settings.Scope(namespaces=(kube_namespace,)),
        schedules=(settings.Schedule("morning", "0 9 * * *", "UTC", "C_OPS"),),
    )
    cluster = client.connect(str(control_plane.kubeconfig), None)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = state_store.StateStore(url)
    # As the bot does: the report's scan in an engine process.
    pool = commandline.EnginePool(commandline.EngineRecipe(str(control_plane.kubeconfig), None), 1)
    schedules = scheduler.Schedules(
        config,
        delivery.Slack(
            WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url), metrics.Metrics()
        ),
        engines.Engines(lambda: cluster, clock.SystemClock(), pool).report_sections(config),
        state_url=url,
        store=store,
    )
    yield schedules, config
    schedules.stop()
    pool.close()
    store.close()
    cluster.close()


def _status(plane: cp.ControlPlane, path: str) -> dict[str, Any]:
    return dict(plane.request("GET", path).get("status") or {})


def _fire_now(schedules: scheduler.Schedules, slack_emulator: SlackEmulator) -> str:
    """Run the stored job through APScheduler now (the jobstore path, not a direct call)."""
    schedules.start_scheduler()
    assert schedules.scheduler is not None
    schedules.scheduler.modify_job("morning", next_run_time=dt.datetime.now(dt.UTC))
    (message,) = slack_emulator.wait_for(lambda: slack_emulator.messages_in("C_OPS"), timeout=20)
    return message.all_text()


def test_stuck_rollout_appears_in_the_scheduled_report(
    control_plane: cp.ControlPlane, kube_namespace: str, slack_emulator: SlackEmulator,
    reporter: tuple[scheduler.Schedules, settings.Settings],
) -> None:  # fmt: skip
    control_plane.apply_objects(
        [manifests.deployment("stuck", namespace=kube_namespace, never_ready=True)]
    )
    # Wait until the controller has observed it, so the report reads a settled status.
    path = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/stuck"
    polling.wait_until(
        lambda: _status(control_plane, path).get("observedGeneration"), 20, interval=POLL
    )
    text = _fire_now(reporter[0], slack_emulator)
    assert text.startswith(":large_yellow_circle:")
    assert f"`{kube_namespace}/deployment/stuck`" in text
    assert "1 unavailable" in text
    assert slack_emulator.violations == []


def test_healthy_namespace_with_fresh_cache_says_healthy(
    control_plane: cp.ControlPlane, kube_namespace: str, slack_emulator: SlackEmulator,
    reporter: tuple[scheduler.Schedules, settings.Settings],
) -> None:  # fmt: skip
    schedules, config = reporter
    control_plane.apply_objects([manifests.deployment("web", namespace=kube_namespace)])
    path = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web"
    polling.wait_until(
        lambda: _status(control_plane, path).get("availableReplicas") == 1, 30, interval=POLL
    )
    rebuild.run(
        Engine(cluster=client.connect(str(control_plane.kubeconfig), None), settings=config)
    )
    text = _fire_now(schedules, slack_emulator)
    assert text.startswith(":large_green_circle: myctl report morning: all healthy")
    assert "all 1 workloads rolled out" in text
    assert "`docker.io/library/nginx:1.27` ×1" in text


# ---------------------------------------------------------------- two processes
def _spawn(env: dict[str, str], who: str, log: Path) -> subprocess.Popen[bytes]:
    """The bot itself (`python -m bot`, HTTP on a free port): two of them are two replicas."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=REPO, env={**env, "MYCTL_INSTANCE_ID": who, "POD_NAME": who},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _ticks(slack_emulator: SlackEmulator) -> list[str]:
    found = []
    for message in slack_emulator.messages_in("C_OPS"):
        context = message.blocks[-1]["elements"][0]["text"]
        found.append(context.split("tick ", 1)[1])
    return found


def test_two_bot_processes_post_each_tick_once_and_survive_a_killed_leader(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    slack_emulator: SlackEmulator,
    tmp_path: Path,
) -> None:
    config = tmp_path / "myctl.yaml"
    config.write_text(
        f"cache: {{namespace: {kube_namespace}}}\n"
        f"scope: {{namespaces: [{kube_namespace}]}}\n"
        "schedules:\n"
        "  - {name: tick, cron: '* * * * *', timezone: UTC, channel: C_OPS, reports: [rollouts]}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_emulator.api_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PORT": "0",
        "KUBECONFIG": str(control_plane.kubeconfig),
        "MYCTL_CONFIG": str(config),
        "MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "MYCTL_LEASE_SECONDS": "3",
        "MYCTL_RENEW_DEADLINE_SECONDS": "2",
        "MYCTL_RETRY_SECONDS": "0.3",
        "MYCTL_SCHEDULE_EVERY_SECONDS": "1",  # a tick a second instead of a minute
    }
    procs = {who: _spawn(env, who, tmp_path / f"{who}.log") for who in ("p1", "p2")}
    try:

        def holder() -> str | None:
            found = _lease_or_none(control_plane, kube_namespace) or {}
            return (found.get("spec") or {}).get("holderIdentity")

        first = polling.wait_until(holder, 30, "a leader", interval=POLL)
        polling.wait_until(
            lambda: len(_ticks(slack_emulator)) >= 4,
            30,
            "ticks from the first leader",
            interval=POLL,
        )
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        killed_at, seen = time.monotonic(), len(_ticks(slack_emulator))
        survivor = "p2" if first == "p1" else "p1"
        # The survivor takes over once the dead leader's lease lapses (3 s here). The slack
        # covers two subprocesses and an API server sharing a loaded 2-core CI machine; the
        # exact bound is proven with a fake clock in test_lease_logic.py.
        polling.wait_until(
            lambda: holder() == survivor, FAST.lease_duration + 7, "takeover", interval=POLL
        )
        polling.wait_until(
            lambda: len(_ticks(slack_emulator)) >= seen + 3,
            30,
            "ticks after the handover",
            interval=POLL,
        )
        took = time.monotonic() - killed_at
        procs[survivor].send_signal(signal.SIGTERM)
        assert procs[survivor].wait(20) == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    ticks = _ticks(slack_emulator)
    assert len(ticks) == len(set(ticks)), f"a tick was posted twice: {ticks}"
    assert took < 30
    assert slack_emulator.violations == []
    logs = {who: (tmp_path / f"{who}.log").read_text() for who in procs}
    assert "runs the scheduler" in logs[survivor]


def _lease_or_none(plane: cp.ControlPlane, ns: str) -> dict[str, Any] | None:
    try:
        return _lease(plane, ns)
    except Exception:
        return None
