"""1k → 100k workloads: `rebuild` (wall, peak RSS, stored bytes, shards) and `select` via the
(sharded) cache vs a live list scan; whole-process `myctl select`/`myctl check` beside the
live-scan script at the small sizes. Targets: design.md §8.

    .venv/bin/python -m bench.scale [--sizes 1000,10000,50000,100000] [--cli-sizes 100,1000,10000]

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
CLI_ROW = ["workloads", "`myctl select`", "`myctl check`", "live-scan script", "select vs script"]


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


def measure_cli(plane: controlplane.ControlPlane, size: int, runs: int) -> list[object]:
    wanted = str(images.parse(scale_10k.app_image(7)))
    base = [common.MYCTL, "--kubeconfig", str(plane.kubeconfig), "--progress", "none"]
    env = common.child_env()

    def median(argv: Sequence[str]) -> float:
        return common.Stats.of([common.run_timed(argv, env=env)[0] for _ in range(runs)]).median

    script = [sys.executable, "-m", "bench.live_scan_script", str(plane.kubeconfig), wanted]
    chosen, checked, scan = (
        median([*base, "select", wanted]),
        median([*base, "check"]),
        median(script),
    )
    return [
        f"{size:,}",
        common.ms(chosen),
        common.ms(checked),
        common.ms(scan),
        f"{scan / chosen:.1f}×",
    ]


def run(
    plane: controlplane.ControlPlane, sizes: Sequence[int], cli_sizes: Sequence[int], runs: int
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
            cli_rows.append(measure_cli(plane, size, max(3, runs // 3)))
            common.table("whole processes (medians)", CLI_ROW, cli_rows)
    return rows, cli_rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000,100000")
    parser.add_argument("--cli-sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of the cached select")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cli_sizes = [int(s) for s in args.cli_sizes.split(",") if s]
    print(f"machine: {common.machine()}", flush=True)
    with common.control_plane(controllers=False) as plane:
        run(plane, sizes, cli_sizes, args.runs)
    print(f"finished: {common.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
