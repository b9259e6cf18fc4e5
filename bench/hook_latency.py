"""Registry push → first restart patch, through the bot's `/hooks/NAME` (docs/benchmarks.md).
Targets (docs/benchmarks.md): p50 ≤ 1 s, p95 ≤ 5 s.

    /work/venv/bin/python -m bench.hook_latency [--pushes 20]

Everything is local: the control plane with the fake kubelet, the CNCF distribution registry
(tests/support/registry.py) whose notifications go to the bot's `/hooks/bench` with a bearer
header, the Slack Web API emulator, and the bot in this process over HTTP on a free port (built
as `myctl-bot` builds it, trigger and all). One Deployment (replicas 1, imagePullPolicy Always)
runs the benchmarked tag.

Each push is a new single-platform image on the same tag. The clock starts when the registry
has answered the manifest PUT (the push is complete; the registry sends its notification after
that) and stops when this process first sees the Deployment's `restartedAt` annotation change
(GET every 10 ms). It covers the notification's delivery, authentication, de-duplication in the
state store, the coalescing quiet period (0.5 s, bot/hooks/coalesce.py), the job runner, and
orchestrate's check, cache rebuild and select before the patch. The next push waits for the
run's outcome message, so each push is one run (no follow-ups). The Deployment's first image
is pushed before notifications are switched on; the first run also builds the image cache
(later runs find it fresh, `cache.max_age`), so the first sample is the slowest.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from bench import common
from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http
from commands.kube import port
from tests.support import controlplane, fake_kubelet, manifests, polling
from tests.support import registry as reg
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import APP_TOKEN, BOT_TOKEN, slack_environment

SECRET = "bench-hook-secret"
CHANNEL = "C_BENCH"
OUTCOMES = (":white_check_mark:", ":x:", ":warning:", ":large_orange_circle:")
POLL_SECONDS = 0.01


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _restarted_at(plane: controlplane.ControlPlane, namespace: str) -> str:
    obj = plane.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    annotations = obj["spec"]["template"]["metadata"].get("annotations") or {}
    return str(annotations.get(port.RESTARTED_AT, ""))


def _finals(emulator: SlackEmulator) -> int:
    return sum(1 for m in emulator.messages_in(CHANNEL) if m.text.startswith(OUTCOMES))


def _config(workdir: Path, namespace: str, repo: str) -> Path:
    path = workdir / "myctl.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            cache: {{namespace: {namespace}}}
            scope: {{namespaces: [{namespace}]}}
            triggers:
              - name: bench
                source: distribution
                secret_env: MYCTL_HOOK_BENCH
                images: ["127.0.0.1:*/{repo}"]
                channel: {CHANNEL}
                rate_limit: 1000
            """
        )
    )
    return path


def measure(
    plane: controlplane.ControlPlane,
    pushes: int,
    workdir: Path,
    *,
    progress: Callable[[int, float], None] = lambda i, s: None,
) -> list[float]:
    """Seconds from each of `pushes` pushes to the first restart patch it caused."""
    namespace = plane.unique_name("hook-bench")
    plane.ensure_namespace(namespace)
    repo = f"bench/{plane.unique_name('hook')}"
    with SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        env = {
            **slack_environment(emulator),
            "PORT": "0",
            "KUBECONFIG": str(plane.kubeconfig),
            "MYCTL_CONFIG": str(_config(workdir, namespace, repo)),
            "MYCTL_STATE_URL": f"sqlite:///{workdir / 'state.db'}",
            "MYCTL_HOOK_BENCH": SECRET,
        }
        config = config_mod.from_environ(env)
        bot = app_mod.build(config, hook_environ=env)
        server = http.HttpServer(bot, 0, host="127.0.0.1").start()
        url = f"http://127.0.0.1:{server.port}/hooks/bench"
        endpoint = ("myctl", url, {"Authorization": f"Bearer {SECRET}"})
        binary, storage = reg.build_registry(), workdir / "registry"
        # The first image goes in before notifications are on (same storage and port), so the
        # Deployment exists before the first hook run, as in production.
        quiet = reg.LocalRegistry(binary, storage).start()
        try:
            quiet.push_image(repo, "1.0", seed="first")
        finally:
            quiet.stop()
        registry = reg.LocalRegistry(binary, storage, endpoints=[endpoint], port=quiet.port)
        registry.start()
        try:
            return _pushes(plane, emulator, registry, namespace, repo, pushes, progress)
        finally:
            registry.stop()
            server.stop()
            bot.close()


def _pushes(
    plane: controlplane.ControlPlane,
    emulator: SlackEmulator,
    registry: reg.LocalRegistry,
    namespace: str,
    repo: str,
    pushes: int,
    progress: Callable[[int, float], None],
) -> list[float]:
    image = registry.ref(repo, "1.0")
    body = manifests.deployment("web", image, replicas=1, pull="Always")
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    plane.request("POST", deployments, body=body)

    def available() -> bool:
        status = plane.request("GET", f"{deployments}/web").get("status", {})
        return bool(status.get("availableReplicas") == 1)

    polling.wait_until(available, timeout=120, what="web available")
    samples = []
    for i in range(pushes):
        before = _restarted_at(plane, namespace)
        registry.push_image(repo, "1.0", seed=f"push-{i}")
        started = time.monotonic()
        try:
            polling.wait_until(
                lambda b=before: _restarted_at(plane, namespace) != b,  # type: ignore[misc]
                timeout=60,
                interval=POLL_SECONDS,
                what=f"the restart patch of push {i}",
            )
        except AssertionError as exc:
            shown = [m.text for m in emulator.messages_in(CHANNEL)]
            raise AssertionError(f"{exc}; messages in {CHANNEL}: {shown}") from exc
        samples.append(time.monotonic() - started)
        progress(i, samples[-1])
        polling.wait_until(
            lambda n=i: _finals(emulator) == n + 1,  # type: ignore[misc]
            timeout=120,
            what=f"the outcome of push {i}",
        )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    print(common.machine())
    with common.control_plane() as plane, tempfile.TemporaryDirectory() as tmp:
        kubelet = fake_kubelet.FakeKubelet(str(plane.kubeconfig)).start()
        try:
            samples = measure(
                plane,
                args.pushes,
                Path(tmp),
                progress=lambda i, s: print(f"push {i + 1}: {common.ms(s)}", flush=True),
            )
        finally:
            kubelet.stop()
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    common.table(
        "Registry push → first restart patch",
        ["pushes", "p50", "p95", "max", "target"],
        [
            [
                len(samples),
                common.ms(p50),
                common.ms(p95),
                common.ms(max(samples)),
                "p50 ≤ 1 s, p95 ≤ 5 s",
            ]
        ],
    )


if __name__ == "__main__":
    main()
