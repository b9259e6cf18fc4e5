"""`restart`: rolling restart of workloads, like `kubectl rollout restart`, but safe at scale.

Three phases. Inspect: each target is re-read live (the cache is only an index) with its pods,
so the digests it runs before are recorded and targets that cannot or need not be restarted are
decided up front. Guard: only the targets that would really be patched count against
--max-targets. Restart: patches run on a bounded thread pool; `--wait` follows each rollout by
watch and verifies the digests the new pods run (commands/engine/verify.py).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from dataclasses import dataclass, field

from commands.engine import rollout, verify, waiting
from commands.engine.context import Engine
from commands.values import clock, errors, events, images, requests, results, workloads

STEP = "restart"
Outcome = events.Outcome


@dataclass(frozen=True)
class Request:
    targets: tuple[workloads.WorkloadRef, ...]
    # When restarting because of an image (--image, orchestrate), the live object must still run
    # one of these, and restarts that cannot pull anything new are not done.
    image_refs: tuple[images.ImageRef, ...] = ()
    options: requests.RestartOptions = field(default_factory=requests.RestartOptions)


@dataclass(frozen=True)
class _Plan:
    """One inspected target: decided already (`decided`), or to be patched."""

    target: workloads.WorkloadRef
    workload: workloads.Workload | None = None
    containers: tuple[str, ...] = ()  # the containers that run the image (all, for names)
    before: tuple[str, ...] = ()
    expected: str | None = None
    pins: tuple[workloads.Container, ...] = ()
    policies: tuple[str, ...] = ()
    image_rollout: bool = False  # restarted because of an image: "unchanged" is not done
    decided: results.TargetOutcome | None = field(default=None)

    def outcome(self, kind: Outcome, detail: str) -> results.TargetOutcome:
        return results.TargetOutcome(
            self.target, kind, detail, digests_before=self.before, pull_policies=self.policies
        )


def run(engine: Engine, request: Request) -> results.RestartResult:
    opts = request.options
    max_targets = opts.max_targets or engine.settings.restart.max_targets
    targets = tuple(dict.fromkeys(request.targets))
    if not request.image_refs:
        _guard(len(targets), max_targets)  # named targets: nothing can be excluded up front
    deadline = engine.clock.monotonic() + (
        opts.timeout_seconds or engine.settings.restart.wait_timeout_seconds
    )
    workers = max(
        1, min(opts.concurrency or engine.settings.restart.concurrency, len(targets) or 1)
    )
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="restart") as pool:
        if request.image_refs:
            plans = list(pool.map(lambda t: _inspect_safely(engine, request, t), targets))
        else:
            # Named targets: read them all before changing anything, so a typo restarts
            # nothing; the first NotFound or PermissionDenied stops here.
            plans = list(pool.map(lambda t: _inspect(engine, request, t), targets))
        to_patch = [plan for plan in plans if plan.decided is None]
        if request.image_refs:
            _guard(len(to_patch), max_targets)
        engine.report(events.StepStarted(STEP, total=len(targets)))
        for plan in plans:
            if plan.decided is not None:
                _report(engine, plan.decided)
        futures = {
            plan.target: pool.submit(_restart_safely, engine, opts, plan, deadline)
            for plan in to_patch
        }
        outcomes = tuple(plan.decided or futures[plan.target].result() for plan in plans)
    warnings = tuple(f"{o.target}: {o.detail}" for o in outcomes if o.outcome is Outcome.SKIPPED)
    result = results.RestartResult(outcomes, engine.dry_run, warnings, waited=opts.wait)
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


def _guard(count: int, max_targets: int) -> None:
    if count > max_targets:
        raise errors.BlastRadiusExceeded(
            f"refusing to restart {count} workloads: more than --max-targets "
            f"{max_targets}; pass --max-targets {count} if this is intended"
        )


def _report(engine: Engine, outcome: results.TargetOutcome) -> None:
    engine.report(events.ItemDone(STEP, str(outcome.target), outcome.outcome, outcome.detail))


def _failed(plan: _Plan, exc: errors.MyctlError) -> results.TargetOutcome:
    return dataclasses.replace(plan.outcome(Outcome.FAILED, str(exc)), error_code=exc.exit_code)


# ---------------------------------------------------------------------------- inspect
def _inspect_safely(engine: Engine, request: Request, target: workloads.WorkloadRef) -> _Plan:
    try:
        return _inspect(engine, request, target)
    except errors.NotFound:
        gone = results.TargetOutcome(target, Outcome.SKIPPED, "no longer exists")
        return _Plan(target, decided=gone)
    except errors.MyctlError as exc:
        return _Plan(target, decided=_failed(_Plan(target), exc))


def _inspect(engine: Engine, request: Request, target: workloads.WorkloadRef) -> _Plan:
    workload = engine.cluster.read_workload(target)
    opts = request.options
    wanted = request.image_refs
    if wanted:
        running = [
            (c, ref)
            for c in workload.containers
            if (ref := images.try_parse(c.image))
            and any(ref.matches(w, opts.match) for w in wanted)
        ]
    else:
        running = [(c, ref) for c in workload.containers if (ref := images.try_parse(c.image))]
    names = tuple(c.name for c, _ in running)
    policies = tuple(sorted({c.pull_policy for c, _ in running}))
    expected = next(
        (
            digest
            for _c, ref in running
            for w in wanted
            if ref.matches(w, opts.match) and (digest := opts.expected_for(w))
        ),
        None,
    )
    plan = _Plan(target, workload, names, expected=expected, policies=policies)
    plan = dataclasses.replace(plan, image_rollout=bool(wanted))
    if wanted and not running:
        why = f"no longer runs {_names(wanted, opts.match)} (the cache was older than the cluster)"
        return _decide(plan, plan.outcome(Outcome.SKIPPED, why))
    if workload.paused:
        why = "is paused; resume it first (kubectl rollout resume)"
        return _decide(plan, plan.outcome(Outcome.FAILED, why))
    pods = verify.current(engine.cluster.list_pods(target.namespace, workload.selector))
    plan = dataclasses.replace(plan, before=verify.digests(pods, names))
    if verify.up_to_date(pods, names, expected):
        done = plan.outcome(Outcome.UP_TO_DATE, f"already runs {images.short_digest(expected)}")
        return _decide(plan, dataclasses.replace(done, verified=results.Verified.UP_TO_DATE))
    refusal = "" if not wanted else _cannot_pull(running, opts, _names(wanted, opts.match))
    if refusal:
        stale = plan.outcome(Outcome.STALE_PULL, refusal)
        if all(
            ref.pinned_by_digest for _c, ref in running
        ):  # the advice says "pinned", not a policy
            stale = dataclasses.replace(stale, pull_policies=("pinned by digest",))
        return _decide(plan, stale)
    if opts.pin_digest and expected:
        pins = tuple(
            dataclasses.replace(c, image=images.with_digest(c.image, expected))
            for c, _ref in running
        )
        plan = dataclasses.replace(plan, pins=pins)
    return plan


def _decide(plan: _Plan, outcome: results.TargetOutcome) -> _Plan:
    return dataclasses.replace(plan, decided=outcome)


def _names(wanted: tuple[images.ImageRef, ...], match: images.MatchMode) -> str:
    return ", ".join(
        ref.repository if match is images.MatchMode.REPOSITORY else str(ref) for ref in wanted
    )


def _cannot_pull(
    running: list[tuple[workloads.Container, images.ImageRef]],
    opts: requests.RestartOptions,
    wanted: str,
) -> str:
    """Why a restart would not pull a new image, or "" when it can (or the user said go)."""
    if opts.allow_stale_pull or opts.pin_digest:
        return ""
    if all(ref.pinned_by_digest for _c, ref in running):
        return (
            f"runs {wanted} pinned by digest: a restart would run the same image "
            "(name the new digest with --expect-digest and --pin-digest)"
        )
    if all(c.pull_policy != "Always" and not r.pinned_by_digest for c, r in running):
        policy = "/".join(sorted({c.pull_policy for c, _ in running}))
        return (
            f"uses imagePullPolicy {policy} with the mutable tag of {wanted}: nodes that "
            "cached the tag would keep their old copy"
        )
    return ""


# ---------------------------------------------------------------------------- restart
def _restart_safely(
    engine: Engine, opts: requests.RestartOptions, plan: _Plan, deadline: float
) -> results.TargetOutcome:
    try:
        outcome = _restart(engine, opts, plan, deadline)
    except errors.MyctlError as exc:
        outcome = _failed(plan, exc)
    _report(engine, outcome)
    return outcome


def _restart(
    engine: Engine, opts: requests.RestartOptions, plan: _Plan, deadline: float
) -> results.TargetOutcome:
    target = plan.target
    stamp = clock.rfc3339(engine.clock.now())
    patched = engine.cluster.patch_restart(target, stamp, dry_run=engine.dry_run, pins=plan.pins)
    pinned = f"image pinned to {images.short_digest(plan.expected)}, " if plan.pins else ""
    if engine.dry_run:
        would = f" ({pinned.rstrip(', ')})" if pinned else ""
        return plan.outcome(Outcome.WOULD_RESTART, f"[dry-run] Would restart {target}{would}")
    if not opts.wait:
        return plan.outcome(Outcome.RESTARTED, f"{pinned}not verified (no --wait)")
    try:
        return _follow(engine, plan, patched, stamp, pinned, deadline)
    except errors.MyctlError as exc:
        # The patch landed: say so, whatever stopped the wait (a forbidden watch, an API
        # server that went away), so the report never hides a restart that happened.
        failed = plan.outcome(Outcome.FAILED, f"{pinned}restarted, but not followed: {exc}")
        return dataclasses.replace(failed, error_code=exc.exit_code, rollout="not followed")


def _follow(
    engine: Engine,
    plan: _Plan,
    patched: workloads.Workload,
    stamp: str,
    pinned: str,
    deadline: float,
) -> results.TargetOutcome:
    target = plan.target
    state = waiting.until_done(engine, patched, deadline)
    if state.state is not rollout.State.COMPLETE:
        failed = plan.outcome(Outcome.FAILED, f"{pinned}rollout {state.message}")
        return dataclasses.replace(failed, rollout=state.message)
    pods = verify.current(engine.cluster.list_pods(target.namespace, patched.selector))
    new_pods = [pod for pod in pods if pod.restarted_at == stamp]
    verdict = verify.judge(new_pods, plan.containers, plan.before, plan.expected)
    unchanged = verdict.verified is results.Verified.UNCHANGED
    if unchanged and plan.image_rollout:
        # An image rollout whose new pods still run the old digest rolled nothing out.
        done = plan.outcome(Outcome.UNCHANGED, f"{pinned}rollout complete, but {verdict.detail}")
    elif unchanged:
        # A named restart (to reload configuration, say) is done even on the same digest.
        done = plan.outcome(Outcome.RESTARTED, f"{pinned}rollout complete, same digest as before")
    else:
        why = f" ({verdict.detail})" if verdict.detail else ""
        detail = f"{pinned}rollout complete, {verdict.verified.value}{why}"
        done = plan.outcome(Outcome.RESTARTED, detail)
    return dataclasses.replace(
        done, rollout="complete", digests_after=verdict.after, verified=verdict.verified
    )
