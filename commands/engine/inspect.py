"""The inspect phase of `restart`: each target re-read live, with its pods, before anything changes.

The cache is only an index, so each target is read afresh; the digests its pods run are
recorded (the verdict compares against them, and `rollback` pins back to them), and targets that
cannot or need not be restarted are decided here, before the blast-radius guard counts the rest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from commands.engine import verify
from commands.engine.context import Engine
from commands.values import errors, events, images, requests, results, workloads

Outcome = events.Outcome


@dataclass(frozen=True)
class Plan:
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
            self.target,
            kind,
            detail,
            digests_before=self.before,
            pull_policies=self.policies,
            containers=self.containers,
        )


@dataclass(frozen=True)
class Ask:
    """What one target is inspected for: the images of an image rollout (none: a named
    restart), or a rollback's pin."""

    image_refs: tuple[images.ImageRef, ...]
    options: requests.RestartOptions
    pin: requests.Pin | None = None


def failed(plan: Plan, exc: errors.MyctlError) -> results.TargetOutcome:
    return dataclasses.replace(plan.outcome(Outcome.FAILED, str(exc)), error_code=exc.exit_code)


def safely(engine: Engine, ask: Ask, target: workloads.WorkloadRef) -> Plan:
    """Like `strictly`, but a target gone or unreadable is decided instead of stopping all."""
    try:
        return strictly(engine, ask, target)
    except errors.NotFound:
        gone = results.TargetOutcome(target, Outcome.SKIPPED, "no longer exists")
        return Plan(target, decided=gone)
    except errors.MyctlError as exc:
        return Plan(target, decided=failed(Plan(target), exc))


def strictly(engine: Engine, ask: Ask, target: workloads.WorkloadRef) -> Plan:
    workload = engine.cluster.read_workload(target)
    if ask.pin is not None:
        return _pinned(engine, ask.pin, workload)
    opts = ask.options
    wanted = ask.image_refs
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
    plan = Plan(target, workload, names, expected=expected, policies=policies)
    plan = dataclasses.replace(plan, image_rollout=bool(wanted))
    if wanted and not running:
        why = f"no longer runs {_names(wanted, opts.match)} (the cache was older than the cluster)"
        return _decide(plan, plan.outcome(Outcome.SKIPPED, why))
    plan = _read_pods(engine, plan, workload)
    if plan.decided is not None:
        return plan
    refusal = "" if not wanted else _cannot_pull(running, opts, _names(wanted, opts.match))
    if refusal:
        stale = plan.outcome(Outcome.STALE_PULL, refusal)
        if all(ref.pinned_by_digest for _c, ref in running):
            # The advice names why: pinned, not a pull policy.
            stale = dataclasses.replace(stale, pull_policies=("pinned by digest",))
        return _decide(plan, stale)
    if opts.pin_digest and expected:
        pins = tuple(
            dataclasses.replace(c, image=images.with_digest(c.image, expected))
            for c, _ref in running
        )
        plan = dataclasses.replace(plan, pins=pins)
    return plan


def _pinned(engine: Engine, pin: requests.Pin, workload: workloads.Workload) -> Plan:
    """A rollback target: its containers pinned to the digest they ran before. Pinning pulls
    exactly that image whatever the pull policy, so no stale-pull refusal applies."""
    chosen = [c for c in workload.containers if c.name in pin.containers]
    names = tuple(c.name for c in chosen)
    plan = Plan(
        workload.ref,
        workload,
        names,
        expected=pin.digest,
        policies=tuple(sorted({c.pull_policy for c in chosen})),
        image_rollout=True,  # new pods still not on the old digest: not rolled back
    )
    missing = sorted(set(pin.containers) - set(names))
    if missing:
        why = f"no longer has container(s) {', '.join(missing)}: nothing to pin back"
        return _decide(plan, plan.outcome(Outcome.SKIPPED, why))
    plan = _read_pods(engine, plan, workload)
    if plan.decided is not None:
        return plan
    pins = tuple(
        dataclasses.replace(c, image=images.with_digest(c.image, pin.digest)) for c in chosen
    )
    return dataclasses.replace(plan, pins=pins)


def _read_pods(engine: Engine, plan: Plan, workload: workloads.Workload) -> Plan:
    """Refuse a paused workload; record the digests its pods run; decide it up to date when
    they all run the expected digest already."""
    if workload.paused:
        why = "is paused; resume it first (kubectl rollout resume)"
        return _decide(plan, plan.outcome(Outcome.FAILED, why))
    pods = verify.current(engine.cluster.list_pods(workload.ref.namespace, workload.selector))
    plan = dataclasses.replace(plan, before=verify.digests(pods, plan.containers))
    if verify.up_to_date(pods, plan.containers, plan.expected):
        done = plan.outcome(
            Outcome.UP_TO_DATE, f"already runs {images.short_digest(plan.expected)}"
        )
        return _decide(plan, dataclasses.replace(done, verified=results.Verified.UP_TO_DATE))
    return plan


def _decide(plan: Plan, outcome: results.TargetOutcome) -> Plan:
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
