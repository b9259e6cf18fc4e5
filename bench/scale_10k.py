"""10k workloads: `rebuild` (wall time, peak RSS, stored size) and `select` via the cache vs a
live list scan. Targets (docs/benchmarks.md): rebuild ≤ 10 s, ≤ 250 MB, fits the 1 MiB ConfigMap;
select ≥ 20× faster than the scan.

    .venv/bin/python -m bench.scale_10k [--workloads 10000] [--runs 15]

Setup: 10k Deployments (replicas 0, so no pods) over 50 namespaces and 500 images, created with
parallel POSTs; kube-controller-manager is stopped so it does not create 10k ReplicaSets on the
same cores while we measure (nothing measured here reads ReplicaSets).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import common
from commands.engine import cachedoc, rebuild, select
from commands.engine.context import Engine
from commands.kube import client
from commands.values import images, results, settings, workloads
from tests.support import controlplane

NAMESPACES = 50
APP_IMAGES = 495
# Shared sidecars (a log shipper, a mesh proxy...): every 4th Deployment runs one, so a few
# images have thousands of holders, as in real clusters.
SIDECAR_IMAGES = 5


# Names and tags carry hashes, as generated names and git-sha tags do in real clusters: with
# sequential names gzip would shrink the stored cache unrealistically well.
WORDS = ("api", "web", "worker", "billing", "search", "auth", "cart", "feed", "media", "sync")


def _hex(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


def app_image(i: int) -> str:
    h = _hex("image", i)
    repo = f"registry.example.com/team-{i % 20:02d}/{WORDS[i % 10]}-{h[:6]}"
    return f"{repo}:1.{i % 7}.{i % 3}-{h[6:13]}"


def sidecar_image(i: int) -> str:
    return f"ghcr.io/example/sidecar-{i}:v2.{i}.0"


def workload_objects(count: int) -> tuple[list[str], list[dict[str, object]]]:
    namespaces = [f"bench-{WORDS[n % 10]}-{n:02d}" for n in range(NAMESPACES)]
    objects = []
    for j in range(count):
        containers = [("app", app_image(j % APP_IMAGES))]
        if j % 4 == 0:
            containers.append(("sidecar", sidecar_image(j % SIDECAR_IMAGES)))
        name = f"{WORDS[j % 10]}-{_hex('workload', j)[:10]}"
        objects.append(common.deployment(namespaces[j % NAMESPACES], name, containers))
    return namespaces, objects


def rebuild_cli(kubeconfig: Path) -> tuple[float, int]:
    """One `myctl rebuild --force` subprocess: wall seconds and its own peak RSS in KiB.

    os.wait4 returns the rusage of exactly this child (RUSAGE_CHILDREN would also count any
    other child already reaped, such as openssl during setup)."""
    argv = [common.MYCTL, "--kubeconfig", str(kubeconfig), "--progress", "none"]
    argv += ["rebuild", "--force"]
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=common.child_env())
        # Reap it ourselves (not proc.wait()): wait4 hands back the child's own rusage.
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"myctl rebuild exited {code}:\n{err.read().decode()[-2000:]}")
    return elapsed, int(usage.ru_maxrss)  # KiB on Linux


def live_scan(cluster: client.KubeCluster, wanted: images.ImageRef) -> list[workloads.WorkloadRef]:
    """What you do without a cache: list every Deployment in every namespace, then filter."""
    found = []
    for workload in cluster.list_workloads(workloads.Kind.DEPLOYMENT, None, ""):
        for container in workload.containers:
            ref = images.try_parse(container.image)
            if ref is not None and ref.matches(wanted, images.MatchMode.EXACT):
                found.append(workload.ref)
                break
    return found


def bench_rebuild(plane: controlplane.ControlPlane, engine: Engine, workload_count: int) -> None:
    cli_runs = [rebuild_cli(plane.kubeconfig) for _ in range(3)]
    wall = common.Stats.of([t for t, _ in cli_runs])
    peak_mib = max(rss for _, rss in cli_runs) / 1024
    scan = common.Stats.of(common.timed(lambda: sum(1 for _ in rebuild.scan(engine)), runs=3))
    planned = rebuild.plan(engine)
    plan = common.Stats.of(common.timed(lambda: rebuild.plan(engine), runs=3, warmup=0))
    write = common.Stats.of(common.timed(lambda: rebuild.apply(engine, planned), runs=3, warmup=0))
    stats = planned.stats
    raw = json.dumps(cachedoc.to_json(planned.document), separators=(",", ":"), sort_keys=True)
    per_workload = stats.size_bytes / max(stats.workloads, 1)
    pages = -(-workload_count // engine.page_size)
    fmt = "gzip" if stats.compressed else "plain JSON"
    common.table(
        f"rebuild, {stats.workloads} workloads, {stats.images} images",
        ["measure", "figure", "target"],
        [
            [
                "`myctl rebuild --force` wall (median of 3 processes)",
                f"{wall.median:.2f} s",
                "≤ 10 s",
            ],
            ["  of which engine plan (scan + build + encode)", f"{plan.median:.2f} s", ""],
            [f"  of which the list scan alone ({pages} pages)", f"{scan.median:.2f} s", ""],
            ["  of which the ConfigMap write (apply)", common.ms(write.median), ""],
            ["peak RSS of the rebuild process (max of 3)", f"{peak_mib:.0f} MiB", "≤ 250 MB"],
            ["stored size", f"{stats.size_bytes:,} bytes ({fmt})", "≤ 1 MiB"],
            ["uncompressed JSON", f"{len(raw.encode()):,} bytes", ""],
            ["stored bytes per workload", f"{per_workload:.1f}", ""],
            [
                "workloads that would fit at this density",
                f"~{int(cachedoc.CONFIGMAP_LIMIT / per_workload):,}",
                "",
            ],
        ],
    )


def bench_select(
    plane: controlplane.ControlPlane,
    engine: Engine,
    cluster: client.KubeCluster,
    workload_count: int,
    runs: int,
) -> None:
    wanted = images.parse(app_image(123))
    expected = workload_count // APP_IMAGES + (1 if workload_count % APP_IMAGES > 123 else 0)
    selected: list[results.SelectResult] = []
    before = cluster.requests
    cached = common.Stats.of(
        common.timed(lambda: selected.append(select.run(engine, [wanted])), runs)
    )
    cache_requests = (cluster.requests - before) / (runs + 1)
    scanned: list[list[workloads.WorkloadRef]] = []
    before = cluster.requests
    scan_runs = max(3, runs // 3)
    live = common.Stats.of(
        common.timed(lambda: scanned.append(live_scan(cluster, wanted)), scan_runs)
    )
    live_requests = (cluster.requests - before) / (scan_runs + 1)
    # Both paths must find the same workloads, or the comparison means nothing.
    assert len(selected[-1].targets) == expected, (len(selected[-1].targets), expected)
    assert sorted(scanned[-1]) == list(selected[-1].targets)
    argv = [common.MYCTL, "--kubeconfig", str(plane.kubeconfig), "--progress", "none"]
    cli = common.Stats.of(
        [
            common.run_timed([*argv, "select", str(wanted)], env=common.child_env())[0]
            for _ in range(5)
        ]
    )

    cache = engine.settings.cache
    stored = cluster.read_cache(cache.namespace, cache.name)
    assert stored is not None
    document = cachedoc.decode(stored)
    parts: list[tuple[str, Callable[[], object]]] = [
        (
            "ConfigMap GET (adapter: HTTP + base64)",
            lambda: cluster.read_cache(cache.namespace, cache.name),
        ),
        ("cachedoc.decode (gunzip + json.loads + from_json)", lambda: cachedoc.decode(stored)),
        (
            "Document.workload_count (computed by check for its stats)",
            lambda: document.workload_count,
        ),
        (
            "select.match on the decoded document",
            lambda: select.match(document, [wanted], images.MatchMode.EXACT),
        ),
    ]
    part_rows = []
    for label, fn in parts:
        part = common.Stats.of(common.timed(fn, runs))
        part_rows.append([label, common.ms(part.median), common.ms(part.p90)])
    # Diagnostic only (myctl does not do this): how much of the above is the cyclic GC walking
    # this process's heap while decode allocates ~100k small objects.
    gc.disable()
    try:
        paused = common.Stats.of(common.timed(lambda: select.run(engine, [wanted]), runs))
    finally:
        gc.enable()
    label = "diagnostic: the whole select.run with the cyclic GC paused"
    part_rows.append([label, common.ms(paused.median), common.ms(paused.p90)])
    common.table(
        "where the cached select's time goes (each part timed alone)",
        ["part", "median", "p90"],
        part_rows,
    )
    common.table(
        f"select one image ({expected} holders) among {workload_count} workloads",
        ["path", "median", "p90", "runs", "API requests"],
        [
            [
                "cache: select.run (ConfigMap GET + gunzip + decode + check + match)",
                common.ms(cached.median),
                common.ms(cached.p90),
                cached.n,
                f"{cache_requests:.0f}",
            ],
            [
                "live scan: list all Deployments, all namespaces, filter",
                common.ms(live.median),
                common.ms(live.p90),
                live.n,
                f"{live_requests:.0f}",
            ],
            [
                "**ratio (scan / cache), medians**",
                f"**{live.median / cached.median:.1f}×**",
                "",
                "",
                "target ≥ 20×",
            ],
            [
                "`myctl select IMAGE` end to end (process start included)",
                common.ms(cli.median),
                common.ms(cli.p90),
                cli.n,
                "",
            ],
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each select path")
    args = parser.parse_args()
    print(f"machine: {common.machine()}", flush=True)
    namespaces, objects = workload_objects(args.workloads)
    with common.control_plane(controllers=False) as plane:
        print(f"control plane up in {plane.startup_seconds:.1f} s", file=sys.stderr)
        plane.ensure_namespace("myctl")
        created = common.create_all(plane, namespaces, objects)
        print(f"created {len(objects)} Deployments in {created:.1f} s", file=sys.stderr)
        with client.connect(str(plane.kubeconfig), None) as cluster:
            engine = Engine(cluster=cluster, settings=settings.Settings())
            bench_rebuild(plane, engine, args.workloads)
            bench_select(plane, engine, cluster, args.workloads, args.runs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this benchmark process peaked at {own:.0f} MiB; not a myctl figure)")
    print(f"finished: {common.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
