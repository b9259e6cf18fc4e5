"""`restart`: rolling restart of workloads, like `kubectl rollout restart`, but safe at scale.

Three phases. Inspect (commands/engine/inspect.py): each target is re-read live (the cache is
only an index) with its pods, so the digests it runs before are recorded and targets that cannot
or need not be restarted are decided up front. Guard: only the targets that would really be
patched count against --max-targets. Restart: patches run on a bounded thread pool; `--wait`
follows each rollout by watch and verifies the digests the new pods run (verify.py). With
`--canary N` the restart phase is two waves (waves.py): the canary, then, if it passed and
`Engine.continue_after_canary` agrees, the rest.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from commands.engine import inspect, rollout, verify, waiting, waves
from commands.engine.context import Engine
from commands.values import clock, errors, events, images, requests, results, workloads

STEP = "restart"
Outcome = events.Outcome
Done = dict[workloads.WorkloadRef, results.TargetOutcome]


@dataclass(frozen=True)
class Request:
    targets: tuple[workloads.WorkloadRef, ...]
    # When restarting because of an image (--image, orchestrate), the live object must still run
    # one of these, and restarts that cannot pull anything new are not done.
    image_refs: tuple[images.ImageRef, ...] = ()
    options: requests.RestartOptions = field(default_factory=requests.RestartOptions)
    # `rollback`: per target, the containers to pin back and the digest (targets need not
    # repeat them). Each is verified against its own digest.
    pins: tuple[requests.Pin, ...] = ()


def run(engine: Engine, request: Request) -> results.RestartResult:
    opts = request.options
    if opts.canary and not opts.wait:
        opts = dataclasses.replace(opts, wait=True)  # a canary is only judged once it ran
    max_targets = opts.max_targets or engine.settings.restart.max_targets
    pins = {pin.target: pin for pin in request.pins}
    targets = tuple(dict.fromkeys((*request.targets, *pins)))
    # Image rollouts and rollbacks skip a target that is gone; named targets must all exist.
    lenient = bool(request.image_refs or pins)
    if not lenient:
        _guard(len(targets), max_targets)  # named targets: nothing can be excluded up front
    workers = max(
        1, min(opts.concurrency or engine.settings.restart.concurrency, len(targets) or 1)
    )
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="restart") as pool:
        look = inspect.safely if lenient else inspect.strictly

        def one(target: workloads.WorkloadRef) -> inspect.Plan:
            ask = inspect.Ask(request.image_refs, opts, pins.get(target))
            return look(engine, ask, target)

        # Named targets: read them all before changing anything, so a typo restarts
        # nothing; the first NotFound or PermissionDenied stops here.
        plans = list(pool.map(one, targets))
        to_patch = [plan for plan in plans if plan.decided is None]
        if lenient:
            _guard(len(to_patch), max_targets)
        engine.report(events.StepStarted(STEP, total=len(targets)))
        for plan in plans:
            if plan.decided is not None:
                _report(engine, plan.decided)
        done = _Waves(engine, pool, opts).run(to_patch)
    outcomes = tuple(plan.decided or done[plan.target] for plan in plans)
    warnings = tuple(f"{o.target}: {o.detail}" for o in outcomes if o.outcome is Outcome.SKIPPED)
    result = results.RestartResult(outcomes, engine.dry_run, warnings, waited=opts.wait)
    engine.report(events.StepFinished(STEP, result.exit_code, result.summary()))
    return result


@dataclass(frozen=True)
class _Waves:
    """The restart phase of one run: what every wave shares."""

    engine: Engine
    pool: concurrent.futures.Executor
    opts: requests.RestartOptions

    def run(self, to_patch: Sequence[inspect.Plan]) -> Done:
        engine = self.engine
        chosen = waves.split(to_patch, self.opts.canary)
        if not self.opts.canary:
            return self.wave(chosen.canary)
        count = 2 if chosen.rest else 1
        _note(engine, f"wave 1/{count}: canary ({len(chosen.canary)})")
        done = self.wave(chosen.canary)
        if not chosen.rest:
            return done
        why = waves.stop_reason(chosen.canary, done, dry_run=engine.dry_run)
        if not why and not engine.dry_run and not _go_on(engine, chosen.canary, done):
            why = "the run was stopped after a good canary"
        if why:
            _note(engine, f"wave 2/2 not started ({len(chosen.rest)}): {why}", warning=True)
            for plan in chosen.rest:
                done[plan.target] = waves.not_started(plan, why)
                _report(engine, done[plan.target])
            return done
        _note(engine, f"wave 2/2: the rest ({len(chosen.rest)})")
        done.update(self.wave(chosen.rest))
        return done

    def wave(self, plans: Sequence[inspect.Plan]) -> Done:
        engine, opts = self.engine, self.opts
        # Each wave gets the whole --timeout: the second starts after the canary (and, from
        # Slack, after a pause that may last minutes).
        deadline = engine.clock.monotonic() + (
            opts.timeout_seconds or engine.settings.restart.wait_timeout_seconds
        )
        futures = {
            plan.target: self.pool.submit(_restart_safely, engine, opts, plan, deadline)
            for plan in plans
        }
        return {target: future.result() for target, future in futures.items()}


def _go_on(engine: Engine, canary: Sequence[inspect.Plan], done: Done) -> bool:
    """Ask the front door (Slack's Continue / Stop); an error while asking means stop."""
    try:
        return engine.continue_after_canary(tuple(done[plan.target] for plan in canary))
    except errors.MyctlError as exc:
        _note(engine, f"could not ask whether to go on after the canary: {exc}", warning=True)
        return False


def _note(engine: Engine, message: str, *, warning: bool = False) -> None:
    engine.report(events.Note(STEP, message, warning=warning))


def _guard(count: int, max_targets: int) -> None:
    if count > max_targets:
        raise errors.BlastRadiusExceeded(
            f"refusing to restart {count} workloads: more than --max-targets "
            f"{max_targets}; pass --max-targets {count} if this is intended"
        )


def _report(engine: Engine, outcome: results.TargetOutcome) -> None:
    engine.report(events.ItemDone(STEP, str(outcome.target), outcome.outcome, outcome.detail))


# ---------------------------------------------------------------------------- restart
def _restart_safely(
    engine: Engine, opts: requests.RestartOptions, plan: inspect.Plan, deadline: float
) -> results.TargetOutcome:
    try:
        outcome = _restart(engine, opts, plan, deadline)
    except errors.MyctlError as exc:
        outcome = inspect.failed(plan, exc)
    _report(engine, outcome)
    return outcome


def _patch(engine: Engine, plan: inspect.Plan, stamp: str) -> workloads.Workload:
    """Send the restart patch. When its answer is lost (the connection broke, a timeout) the
    patch may still have landed: a re-read tells, so the report never calls a restart that
    happened a failure — and says "may have" when even the re-read fails."""
    target = plan.target
    try:
        return engine.cluster.patch_restart(target, stamp, dry_run=engine.dry_run, pins=plan.pins)
    except errors.ServerError as lost:
        if engine.dry_run:
            raise
        try:
            live = engine.cluster.read_workload(target)
        except errors.MyctlError as unread:
            raise errors.ServerError(
                f"the restart may have landed: {lost}; re-reading it failed too ({unread})"
            ) from lost
        if live.restarted_at != stamp:
            raise
        return live


def _restart(
    engine: Engine, opts: requests.RestartOptions, plan: inspect.Plan, deadline: float
) -> results.TargetOutcome:
    target = plan.target
    now = engine.clock.now()
    stamp = clock.rfc3339(now)
    if plan.workload is not None and plan.workload.restarted_at == stamp:
        # kubectl's stamp has one-second resolution: a second restart within the same second
        # (two pushes in a row) would leave the template unchanged and roll nothing out.
        stamp = clock.rfc3339_precise(now)
    patched = _patch(engine, plan, stamp)
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
        # The server took the patch, so losing it afterwards is a failed operation (exit 1),
        # not the configuration error (exit 2) an unreachable server means before anything.
        code = errors.EXIT_FAILED if isinstance(exc, errors.ClusterUnreachable) else exc.exit_code
        return dataclasses.replace(failed, error_code=code, rollout="not followed")


def _follow(
    engine: Engine,
    plan: inspect.Plan,
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
