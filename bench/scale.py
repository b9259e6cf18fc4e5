"""1k → 100k workloads: `rebuild` (wall, peak RSS, stored bytes, shards) and `select` via the
(sharded) cache vs a live list scan; whole-process `myctl select`/`myctl check` beside the
live-scan script at the small sizes. Targets: docs/benchmarks.md.

    .venv/bin/python -m bench.scale [--sizes 1000,10000,50000,100000] [--cli-sizes 100,1000,10000]
        [--installed-myctl DIR/bin/myctl] [--baseline-myctl DIR/bin/myctl]

(both made by scripts/installed-venv; the baseline with --rev, e.g. the commit before a change)

One control plane (kube-controller-manager stopped: Deployments have replicas 0 and nothing
here reads ReplicaSets); sizes grow by creating only the difference, in parallel batches. The
workload shapes are bench/scale_10k.py's (hashed names and tags, 495 apps + 5 sidecars).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import common, scale_10k
from commands.engine import check, select
from commands.engine.context import Engine
from commands.kube import client
from commands.values import images, settings
from tests.support import controlplane

ROW = ["workloads", "rebuild wall", "peak RSS", "stored bytes", "shards", "select (cache)",
       "live scan", "ratio", "requests (cache)"]  # fmt: skip


def measure(plane: controlplane.ControlPlane, size: int, runs: int) -> list[object]:
    wall, rss_kib = scale_10k.rebuild_cli(plane.kubeconfig)
    with client.connect(str(plane.kubeconfig), None) as cluster:
        engine = Engine(cluster=cluster, settings=settings.Settings())
        verdict = check.run(engine)
        assert verdict.valid, verdict.reason
        wanted = images.parse(scale_10k.app_image(7))  # present from 8 workloads up
        before = cluster.requests
        found: list[int] = []
        cached = common.Stats.of(
            common.timed(lambda: found.append(len(select.run(engine, [wanted]).targets)), runs)
        )
        requests = (cluster.requests - before) / (runs + 1)
        scan_runs = 2 if size >= 50_000 else 3
        scanned: list[int] = []
        live = common.Stats.of(
            common.timed(
                lambda: scanned.append(len(scale_10k.live_scan(cluster, wanted))),
                scan_runs,
                warmup=0,
            )
        )
        assert found[-1] == scanned[-1] > 0, (found[-1], scanned[-1])
    stats = verdict.stats
    return [
        f"{size:,}",
        f"{wall:.2f} s",
        f"{rss_kib / 1024:.0f} MiB",
        f"{stats.size_bytes:,}",
        stats.shards or "1 (unsharded)",
        common.ms(cached.median),
        common.ms(live.median),
        f"**{live.median / cached.median:.0f}×**",
        f"{requests:.0f}",
    ]


def measure_cli(
    plane: controlplane.ControlPlane, size: int, runs: int, installed: str, baseline: str = ""
) -> list[object]:
    """Whole processes, interleaved run by run so load drifts hit every contender alike, as
    "wall (CPU)" medians:
    `myctl select`/`check` from this checkout's (editable) install, from a regular install
    when `installed` names its `myctl`, from a `baseline` install (the code before a change,
    timed under the same load), and the live-scan script."""
    wanted = str(images.parse(scale_10k.app_image(7)))
    env = common.child_env()
    programs = [common.MYCTL, *(p for p in (installed, baseline) if p)]
    argvs: list[list[str]] = []
    for program in programs:
        base = [program, "--kubeconfig", str(plane.kubeconfig), "--progress", "none"]
        argvs += [[*base, "select", wanted], [*base, "check"]]
    script = [sys.executable, "-m", "bench.live_scan_script", str(plane.kubeconfig), wanted]
    argvs.append(script)
    walls: list[list[float]] = [[] for _ in argvs]
    cpus: list[list[float]] = [[] for _ in argvs]
    for _ in range(runs + 1):  # the first round warms the page cache, untimed
        for index, argv in enumerate(argvs):
            wall, cpu = common.run_measured(argv, env=env)
            walls[index].append(wall)
            cpus[index].append(cpu)
    medians = [common.Stats.of(times[1:]).median for times in walls]
    cpu_medians = [common.Stats.of(times[1:]).median for times in cpus]
    scan = medians[-1]
    return [
        f"{size:,}",
        *(f"{common.ms(m)} ({common.ms(c)})" for m, c in zip(medians, cpu_medians, strict=True)),
        f"{scan / medians[0]:.1f}×",
        f"{scan / medians[2 if installed else 0]:.1f}×",
    ]


def cli_row(installed: str, baseline: str = "") -> list[str]:
    variants = ["(editable)", *(["(installed)"] if installed else [])]
    variants += ["(baseline)"] if baseline else []
    cells = [f"`myctl {cmd}` {how}" for how in variants for cmd in ("select", "check")]
    best = "select vs script (installed)" if installed else "select vs script"
    return ["workloads", *cells, "live-scan script", "select vs script (editable)", best]


def run(
    plane: controlplane.ControlPlane,
    sizes: Sequence[int],
    cli_sizes: Sequence[int],
    runs: int,
    installed: str = "",
    baseline: str = "",
) -> tuple[list[list[object]], list[list[object]]]:
    plane.ensure_namespace("myctl")
    rows: list[list[object]] = []
    cli_rows: list[list[object]] = []
    created = 0
    for size in sorted({*sizes, *cli_sizes}):
        namespaces, objects = scale_10k.workload_objects(size)
        seconds = common.create_all(plane, namespaces, objects[created:])
        print(f"created {size - created} Deployments in {seconds:.1f} s", file=sys.stderr)
        created = size
        if size in sizes:
            rows.append(measure(plane, size, runs))
            common.table("rebuild and select", ROW, rows)
        if size in cli_sizes:
            if size not in sizes:
                scale_10k.rebuild_cli(plane.kubeconfig)
            cli_rows.append(measure_cli(plane, size, max(3, runs // 3), installed, baseline))
            common.table("whole processes (medians)", cli_row(installed, baseline), cli_rows)
    return rows, cli_rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000,100000")
    parser.add_argument("--cli-sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of the cached select")
    parser.add_argument(
        "--installed-myctl",
        default="",
        help="the `myctl` of a regular (non-editable) install, timed beside this checkout's",
    )
    parser.add_argument(
        "--baseline-myctl",
        default="",
        help="the `myctl` of a regular install of other code (before a change), timed alike",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cli_sizes = [int(s) for s in args.cli_sizes.split(",") if s]
    print(f"machine: {common.machine()}", flush=True)
    with common.control_plane(controllers=False) as plane:
        run(plane, sizes, cli_sizes, args.runs, args.installed_myctl, args.baseline_myctl)
    print(f"finished: {common.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
