"""`myctl restart` of 200 Deployments vs one `kubectl rollout restart` per Deployment.
Target (docs/benchmarks.md): ≥ 10× faster.

    .venv/bin/python -m bench.restart_200 [--targets 200] [--runs 3]

kubectl is `--kubectl` (default /usr/bin/kubectl when it exists), else scripts/kubectl-build
(built from Go modules, cached). If neither is there, the baseline falls back to one
`myctl restart` process per Deployment, and the table says so. Both contenders are whole
processes; the kubectl loop is repeated `--loops` times and medians are compared.
kube-controller-manager runs, so every restart makes the deployment controller roll a new
ReplicaSet on the same cores, for both contenders alike. Deployments have replicas 0: pods are
irrelevant to the cost of issuing the restart, and no kubelet runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import common
from commands.engine import restart
from commands.engine.context import Engine
from commands.kube import client, port
from commands.values import requests, settings, workloads
from tests.support import controlplane

NAMESPACES = 4
RESTARTED_AT = port.RESTARTED_AT


def kubectl_binary(given: str) -> Path | None:
    if given:
        return Path(given)
    proc = subprocess.run(
        ["bash", str(common.KUBECTL_BUILD)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        print(f"scripts/kubectl-build failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return Path(proc.stdout.strip().splitlines()[-1])


def stamps(plane: controlplane.ControlPlane, namespaces: Sequence[str]) -> dict[str, str]:
    """restartedAt of every Deployment, by namespace/name ("" when never restarted)."""
    out = {}
    for ns in namespaces:
        page = plane.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments")
        for item in page["items"]:
            annotations = item["spec"]["template"]["metadata"].get("annotations") or {}
            out[f"{ns}/{item['metadata']['name']}"] = annotations.get(RESTARTED_AT, "")
    return out


def wait_settled(plane: controlplane.ControlPlane, namespaces: Sequence[str]) -> None:
    """Poll (with a deadline) until the deployment controller has observed every Deployment."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pending = 0
        for ns in namespaces:
            for item in plane.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments")["items"]:
                status = item.get("status") or {}
                pending += status.get("observedGeneration") != item["metadata"]["generation"]
        if not pending:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{pending} Deployments not observed by the controller in 120 s")


def next_second() -> None:
    """restartedAt has one-second resolution (kubectl's and ours): a second run within the same
    second would patch in an identical value, a cheaper no-op. Start each run on a new second."""
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def changed_all(before: dict[str, str], after: dict[str, str], targets: Sequence[str]) -> bool:
    return all(after[t] and after[t] != before[t] for t in targets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="rounds: myctl run + baseline loop")
    parser.add_argument("--sample", type=int, default=20, help="one-myctl-per-target sample")
    default_kubectl = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else ""
    parser.add_argument("--kubectl", default=default_kubectl, help="'' = scripts/kubectl-build")
    parser.add_argument("--skip-in-process", action="store_true", help="whole processes only")
    args = parser.parse_args(argv)
    print(f"machine: {common.machine()}", flush=True)
    kubectl = kubectl_binary(args.kubectl)
    namespaces = [f"restart-{n}" for n in range(NAMESPACES)]
    objects = [
        common.deployment(
            namespaces[j % NAMESPACES], f"api-{j:03d}", [("app", f"registry.example.com/api:{j}")]
        )
        for j in range(args.targets)
    ]
    targets = [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objects]
    cli_targets = [t.replace("/", "/deployment/") for t in targets]

    with common.control_plane() as plane, tempfile.TemporaryDirectory() as tmp:
        common.create_all(plane, namespaces, objects)
        wait_settled(plane, namespaces)
        env = common.child_env(KUBECONFIG=str(plane.kubeconfig))
        base = [common.MYCTL, "--kubeconfig", str(plane.kubeconfig), "--progress", "none"]
        argv = [*base, "restart", "--max-targets", str(args.targets), "--concurrency", "8"]
        if kubectl is not None:
            kargs = [str(kubectl), "--cache-dir", str(Path(tmp) / "kube-cache")]
            # Untimed: fill kubectl's discovery cache, as on any workstation that used it before.
            common.run_timed([*kargs, "api-resources"], env=env)
            label = f"`{kubectl} rollout restart deployment/NAME -n NS`, one process each"
        else:
            label = "FALLBACK (no kubectl): one `myctl restart NS/deployment/NAME` process each"

        def baseline(target: str, cli_target: str) -> list[str]:
            ns, name = target.split("/")
            if kubectl is None:
                return [*base, "restart", cli_target]
            return [*kargs, "rollout", "restart", f"deployment/{name}", "-n", ns]

        # ---- side by side, `--runs` rounds: one myctl process for all targets (8 in parallel,
        # the documented way), then the baseline loop, one process per Deployment.
        myctl_times: list[float] = []
        loops: list[float] = []
        per: list[float] = []
        for _ in range(args.runs):
            before = stamps(plane, namespaces)
            next_second()
            myctl_times.append(common.run_timed([*argv, *cli_targets], env=env)[0])
            assert changed_all(before, stamps(plane, namespaces), targets), "myctl missed some"
            before = stamps(plane, namespaces)
            next_second()
            round_per = [
                common.run_timed(baseline(t, c), env=env)[0]
                for t, c in zip(targets, cli_targets, strict=True)
            ]
            assert changed_all(before, stamps(plane, namespaces), targets), "baseline missed some"
            per.extend(round_per)
            loops.append(sum(round_per))
            print(f"round: myctl {myctl_times[-1]:.2f} s, baseline {loops[-1]:.2f} s", flush=True)
        myctl = common.Stats.of(myctl_times)
        loop = common.Stats.of(loops)
        per_s = common.Stats.of(per)
        rows: list[list[object]] = [
            [
                f"`myctl restart` {args.targets} targets, --concurrency 8 (one process)",
                f"{myctl.median:.2f} s",
                f"{myctl.n} runs, min {myctl.minimum:.2f} s, max {max(myctl_times):.2f} s",
            ],
            [
                label,
                f"{loop.median:.2f} s",
                f"{loop.n} loops, min {loop.minimum:.2f} s; per process median "
                f"{common.ms(per_s.median)}, p90 {common.ms(per_s.p90)}",
            ],
            [
                "**ratio (baseline loop / `myctl restart`), medians**",
                f"**{loop.median / myctl.median:.1f}×**",
                "target ≥ 10×",
            ],
        ]

        # ---- the same through the engine in-process (no interpreter start, no imports)
        if not args.skip_in_process:
            cluster = client.connect(str(plane.kubeconfig), None)
            refs = tuple(workloads.parse_target(t, "default") for t in cli_targets)
            for concurrency in (8, 1):
                engine = Engine(cluster=cluster, settings=settings.Settings())
                options = requests.RestartOptions(concurrency=concurrency, max_targets=len(refs))
                request = restart.Request(refs, options=options)
                runs = []
                for _ in range(args.runs):
                    next_second()
                    t0 = time.perf_counter()
                    result = restart.run(engine, request)
                    runs.append(time.perf_counter() - t0)
                    assert result.exit_code == 0, result.summary()
                s = common.Stats.of(runs)
                label = f"engine `restart.run` in-process, concurrency {concurrency}"
                rows.append([label, f"{s.median:.2f} s", f"{s.n} runs"])
            cluster.close()

        # ---- for scale: what one myctl process per target would cost (a sample)
        if args.sample:
            sample = cli_targets[: args.sample]
            one = common.Stats.of(
                [common.run_timed([*base, "restart", t], env=env)[0] for t in sample]
            )
            rows.append(
                [
                    f"one `myctl restart` process per Deployment ({len(sample)} sampled)",
                    f"~{one.median * args.targets:.1f} s (extrapolated to {args.targets})",
                    f"per process median {common.ms(one.median)}, p90 {common.ms(one.p90)}",
                ]
            )

        common.table(
            f"restart {args.targets} Deployments ({NAMESPACES} namespaces, controllers running)",
            ["what", "wall", "notes"],
            rows,
        )
        print(f"finished: {common.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
