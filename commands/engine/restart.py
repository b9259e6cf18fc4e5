"""`restart`: rolling restart of workloads, like `kubectl rollout restart`, but safe at scale.

Each target is re-read live before it is patched: the cache is only an index. Patches run on a
bounded thread pool; `--wait` follows each rollout with kubectl's rules until a shared deadline.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from commands.engine import rollout
from commands.engine.context import Engine
from commands.values import clock, errors, events, images, results, workloads

STEP = "restart"
# Seconds between rollout-status reads with --wait: kubectl watches; polling every 2 s costs one
# GET per target per poll and keeps the latency to notice completion small.
POLL_INTERVAL = 2.0


@dataclass(frozen=True)
class Request:
    targets: tuple[workloads.WorkloadRef, ...]
    # When restarting because of an image (--image, orchestrate), the live object must still run
    # one of these, and restarts that cannot pull anything new are skipped with a warning.
    image_refs: tuple[images.ImageRef, ...] = ()
    match: images.MatchMode = images.MatchMode.EXACT
    wait: bool = False
    timeout_seconds: float | None = None  # default: settings.restart.wait_timeout_seconds
    concurrency: int | None = None  # default: settings.restart.concurrency
    max_targets: int | None = None  # default: settings.restart.max_targets
    allow_stale_pull: bool = False  # restart even where a restart cannot pull a new image


def run(engine: Engine, request: Request) -> results.RestartResult:
    limits = engine.settings.restart
    max_targets = request.max_targets or limits.max_targets
    targets = tuple(dict.fromkeys(request.targets))
    if len(targets) > max_targets:
        raise errors.BlastRadiusExceeded(
            f"refusing to restart {len(targets)} workloads: more than --max-targets "
            f"{max_targets}; pass --max-targets {len(targets)} if this is intended"
        )
    engine.report(events.StepStarted(STEP, total=len(targets)))
    deadline = engine.clock.monotonic() + (request.timeout_seconds or limits.wait_timeout_seconds)
    workers = max(1, min(request.concurrency or limits.concurrency, len(targets) or 1))
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="restart") as pool:
        live: dict[workloads.WorkloadRef, workloads.Workload] = {}
        if not request.image_refs:
            # Named targets: read them all (in parallel) before changing anything, so a typo
            # restarts nothing; the first NotFound or PermissionDenied stops here.
            live = dict(zip(targets, pool.map(engine.cluster.read_workload, targets), strict=True))
        futures = [
            pool.submit(_restart_one, engine, request, target, live.get(target), deadline)
            for target in targets
        ]
        outcomes = [future.result() for future in futures]
    warnings = tuple(
        f"{o.target}: {o.detail}" for o in outcomes if o.outcome is events.Outcome.SKIPPED
    )
    result = results.RestartResult(tuple(outcomes), engine.dry_run, warnings)
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


def _restart_one(
    engine: Engine,
    request: Request,
    target: workloads.WorkloadRef,
    workload: workloads.Workload | None,
    deadline: float,
) -> results.TargetOutcome:
    try:
        outcome = _attempt(engine, request, target, workload, deadline)
    except errors.MyctlError as exc:
        outcome = results.TargetOutcome(
            target, events.Outcome.FAILED, str(exc), error_code=exc.exit_code
        )
    engine.report(events.ItemDone(STEP, str(target), outcome.outcome, outcome.detail))
    return outcome


def _attempt(
    engine: Engine,
    request: Request,
    target: workloads.WorkloadRef,
    workload: workloads.Workload | None,
    deadline: float,
) -> results.TargetOutcome:
    if workload is None:
        try:
            workload = engine.cluster.read_workload(target)
        except errors.NotFound:
            return results.TargetOutcome(target, events.Outcome.SKIPPED, "no longer exists")
    if request.image_refs:
        refusal = _image_refusal(workload, request)
        if refusal:
            return results.TargetOutcome(target, events.Outcome.SKIPPED, refusal)
    if workload.paused:
        return results.TargetOutcome(
            target,
            events.Outcome.FAILED,
            "is paused; resume it first (kubectl rollout resume)",
        )
    stamp = clock.rfc3339(engine.clock.now())
    engine.cluster.patch_restart(target, stamp, dry_run=engine.dry_run)
    if engine.dry_run:
        return results.TargetOutcome(
            target, events.Outcome.WOULD_RESTART, f"[dry-run] Would restart {target}"
        )
    if not request.wait:
        return results.TargetOutcome(target, events.Outcome.RESTARTED, f"restarted {target}")
    state = _wait(engine, target, deadline)
    if state.state is rollout.State.COMPLETE:
        return results.TargetOutcome(
            target, events.Outcome.RESTARTED, f"restarted {target}", rollout="complete"
        )
    return results.TargetOutcome(
        target, events.Outcome.FAILED, f"rollout {state.message}", rollout=state.message
    )


def _image_refusal(workload: workloads.Workload, request: Request) -> str:
    """Why restarting this workload would not roll out the image, or "" to go ahead."""
    running = [
        (container, ref)
        for container in workload.containers
        if (ref := images.try_parse(container.image))
        and any(ref.matches(wanted, request.match) for wanted in request.image_refs)
    ]
    wanted = ", ".join(
        ref.repository if request.match is images.MatchMode.REPOSITORY else str(ref)
        for ref in request.image_refs
    )
    if not running:
        return f"no longer runs {wanted} (the cache was older than the cluster)"
    if request.allow_stale_pull:
        return ""
    if all(ref.pinned_by_digest for _container, ref in running):
        return (
            f"runs {wanted} pinned by digest: a restart would pull the same "
            "image (pass --allow-stale-pull to restart anyway)"
        )
    if all(c.pull_policy == "IfNotPresent" and not r.pinned_by_digest for c, r in running):
        return (
            f"uses imagePullPolicy IfNotPresent with the mutable tag of {wanted}: "
            "nodes would reuse their cached copy (pass --allow-stale-pull to restart anyway)"
        )
    return ""


def _wait(engine: Engine, target: workloads.WorkloadRef, deadline: float) -> rollout.Status:
    while True:
        current = rollout.status(engine.cluster.read_workload(target))
        if current.state is not rollout.State.IN_PROGRESS:
            return current
        remaining = deadline - engine.clock.monotonic()
        if remaining <= 0:
            return rollout.Status(rollout.State.FAILED, f"timed out: {current.message}")
        engine.clock.sleep(min(POLL_INTERVAL, remaining))
