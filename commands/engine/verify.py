"""Which digests a workload's pods run, before and after a restart, and the verdict.

Pure functions over pods already read: the restart step reads, this module judges. The
verdicts are those of docs/verification.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from commands.values import images, results, workloads

Verified = results.Verified


def digests(pods: Iterable[workloads.Pod], containers: Sequence[str]) -> tuple[str, ...]:
    """The distinct digests the named containers of `pods` run, sorted (unstarted: none)."""
    names = set(containers)
    return tuple(
        sorted(
            {
                c.digest
                for pod in pods
                for c in pod.containers
                if c.name in names and c.digest is not None
            }
        )
    )


def current(pods: Iterable[workloads.Pod]) -> list[workloads.Pod]:
    return [pod for pod in pods if not pod.terminating]


def up_to_date(
    pods: Sequence[workloads.Pod], containers: Sequence[str], expected: str | None
) -> bool:
    """Every current pod already runs `expected` in every named container."""
    if expected is None:
        return False
    live = current(pods)
    names = set(containers)
    statuses = [c for pod in live for c in pod.containers if c.name in names]
    return bool(live) and bool(statuses) and all(c.digest == expected for c in statuses)


@dataclass(frozen=True)
class Verdict:
    verified: Verified
    after: tuple[str, ...]
    detail: str


def judge(
    new_pods: Sequence[workloads.Pod],
    containers: Sequence[str],
    before: Sequence[str],
    expected: str | None,
) -> Verdict:
    """`updated` when every new pod runs a digest other than before (or exactly `expected`);
    `unchanged` naming the nodes that did not; `unknown` when there is nothing to compare."""
    names = set(containers)
    after = digests(new_pods, containers)
    if not new_pods:
        return Verdict(Verified.UNKNOWN, after, "no pods to verify (scaled to zero?)")
    if not after:
        return Verdict(Verified.UNKNOWN, after, "the new pods report no image digest")
    stale_nodes = sorted(
        {
            pod.node or "(unscheduled)"
            for pod in new_pods
            for c in pod.containers
            if c.name in names
            and c.digest is not None
            and (c.digest != expected if expected else c.digest in before)
        }
    )
    if not stale_nodes:
        return Verdict(Verified.UPDATED, after, "")
    runs = ", ".join(map(images.short_digest, after))
    if expected:
        reason = f"new pods run {runs}, not the expected {images.short_digest(expected)}"
    else:
        reason = f"new pods still run {runs}, the digest they ran before"
    return Verdict(
        Verified.UNCHANGED,
        after,
        f"{reason} on {', '.join(stale_nodes)} (the node reused its cached copy of the tag, "
        "or the tag was not re-pushed)",
    )
