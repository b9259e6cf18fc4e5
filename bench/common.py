"""Shared pieces of the benchmark scripts: a control plane, fast bulk creation, timing, tables.

Benchmarks are not tests: they print figures for docs/benchmarks.md and are never run in CI.
They start their own control plane (tests/support/controlplane.py) on free loopback ports and
stop it on the way out.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support import controlplane, manifests, processes

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MYCTL = str(VENV_BIN / "myctl")
KUBECTL_BUILD = REPO_ROOT / "scripts" / "kubectl-build"
# Parallel POSTs for setup. The API server on a 2-core machine saturates at about this many
# in-flight creates; more threads only add Python contention in this process.
CREATE_WORKERS = 16


@contextlib.contextmanager
def control_plane(*, controllers: bool = True) -> Iterator[controlplane.ControlPlane]:
    """A fresh control plane, stopped (and its temp dir removed) on exit.

    controllers=False stops kube-controller-manager once the API server is up: the 10k-workload
    benchmarks only read Deployments, and without it the deployment controller would spend the
    setup (and the first measurements) creating 10k ReplicaSets on the same two cores.
    """
    plane = controlplane.ControlPlane(controlplane.build_binaries())
    plane.start()
    try:
        if not controllers:
            kcm = plane.procs.pop("kube-controller-manager")
            processes.kill_pids([kcm.pid])
            kcm.wait(timeout=10)
        yield plane
    finally:
        plane.stop()


def deployment(namespace: str, name: str, containers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A Deployment with replicas 0 (no pods, no kubelet needed) and the given containers."""
    return manifests.deployment(
        name,
        namespace=namespace,
        replicas=0,
        labels={"app": name},
        containers=containers,
        pull="Always",
    )


def create_all(
    plane: controlplane.ControlPlane,
    namespaces: Sequence[str],
    objects: Sequence[dict[str, Any]],
    workers: int = CREATE_WORKERS,
) -> float:
    """Create namespaces, then POST the Deployments in parallel; returns the seconds it took."""
    t0 = time.perf_counter()
    plane.apply_objects(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces]
    )
    local = threading.local()

    def post(obj: dict[str, Any]) -> None:
        # requests.Session is not documented as thread-safe: one per worker thread.
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = plane.session()
        ns = obj["metadata"]["namespace"]
        url = f"{plane.server}/apis/apps/v1/namespaces/{ns}/deployments"
        r = session.post(url, json=obj, timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"create {ns}/{obj['metadata']['name']}: {r.status_code} {r.text}")

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(post, obj) for obj in objects]:
            future.result()
    return time.perf_counter() - t0


def timed(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Seconds per call of `fn`, `runs` times after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run_timed(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds of one subprocess (which must exit 0) and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]}… exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one subprocess, which must exit 0.

    CPU time is what the process itself costs; on a loaded machine wall time adds the wait
    for a core. os.wait4 gives exactly this child's rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    assert proc.stderr is not None
    # Reap it ourselves (not proc.wait()): wait4 hands back the child's own rusage. Its stderr
    # is small (an error at most), so reading it after exit cannot block the child.
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read()
    proc.stderr.close()
    if code != 0:
        raise RuntimeError(f"{argv[:4]}… exited {code}:\n{stderr[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Stats:
    median: float
    p90: float
    minimum: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        ordered = sorted(samples)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        return cls(statistics.median(ordered), p90, ordered[0], len(ordered))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a Markdown table (pasteable into docs/benchmarks.md)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def machine() -> str:
    """One line on where the figures come from."""
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {os.getloadavg()[0]:.2f}"
    )


def child_env(**extra: str) -> dict[str, str]:
    """The environment for myctl/kubectl subprocesses: no proxies, no stray config, and
    bytecode written as in an ordinary environment (with PYTHONDONTWRITEBYTECODE an editable
    checkout without `__pycache__` compiles every module in every timed run, ~70 ms of a CLI
    process; the untimed first round writes it)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("MYCTL_CONFIG", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env
