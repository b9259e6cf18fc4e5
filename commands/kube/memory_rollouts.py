"""The in-memory cluster's workloads and its fake controller: how a restart rolls out.

A restart bumps the generation; the fake controller then settles the rollout at once
("complete"), never ("stuck"), or past its progress deadline ("deadline"), so engine tests can
meet each of kubectl's rollout-status outcomes without a real controller-manager.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from commands.kube import convert
from commands.values import workloads

# The label each fake workload's pods carry (its spec.selector).
WORKLOAD_LABEL = "myctl.memory/workload"


@dataclass
class Stored:
    workload: workloads.Workload
    resource_version: int
    # How the fake controller answers a restart: "complete" (a rollout finishes at once),
    # "stuck" (never finishes), or "deadline" (exceeds its progress deadline).
    rollout: str = "complete"
    pods: list[workloads.Pod] = field(default_factory=list)


@dataclass
class Calls:
    """What the engine asked for, for assertions (e.g. pagination, no writes in dry run)."""

    lists: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # kind, ns, token
    patches: list[tuple[workloads.WorkloadRef, bool]] = field(default_factory=list)  # ref, dry_run
    cache_writes: int = 0
    peak_concurrent_patches: int = 0
    pod_lists: int = 0
    watches: int = 0


def new_workload(
    ref: workloads.WorkloadRef,
    images: tuple[str, ...],
    *,
    pull_policy: str | None,
    paused: bool,
    labels: Mapping[str, str],
    replicas: int,
) -> workloads.Workload:
    """A settled workload whose containers run `images`; with no pull policy given, what the
    API server defaults (IfNotPresent for most tags), because that is what real workloads run."""
    containers = tuple(
        workloads.Container(
            f"c{index}" if index else ref.name,
            image,
            pull_policy or convert.default_pull_policy(image),
        )
        for index, image in enumerate(images)
    )
    return workloads.Workload(
        ref,
        containers,
        paused,
        None,
        settled(replicas),
        tuple(sorted(labels.items())),
        selector=f"{WORKLOAD_LABEL}={ref.namespace}.{ref.name}",
    )


def settled(replicas: int) -> workloads.RolloutFacts:
    """A workload whose last rollout finished: every replica updated, ready and available."""
    return workloads.RolloutFacts(
        generation=1,
        observed_generation=1,
        desired=replicas,
        current=replicas,
        updated=replicas,
        ready=replicas,
        available=replicas,
        current_revision="r1",
        update_revision="r1",
    )


def restarted(stored: Stored, restarted_at: str) -> workloads.Workload:
    workload = stored.workload
    facts = workload.rollout
    generation = facts.generation + 1
    desired = facts.desired or 0
    if stored.rollout == "complete":
        facts = dataclasses.replace(
            facts,
            generation=generation,
            observed_generation=generation,
            update_revision=f"r{generation}",
            current_revision=f"r{generation}",
        )
    elif stored.rollout == "deadline":
        facts = dataclasses.replace(
            facts,
            generation=generation,
            observed_generation=generation,
            updated=0,
            conditions=(workloads.Condition("Progressing", "False", "ProgressDeadlineExceeded"),),
        )
    else:  # stuck: observed, but the new pods never become available
        facts = dataclasses.replace(
            facts,
            generation=generation,
            observed_generation=generation,
            updated=max(desired - 1, 0),
            ready=max(desired - 1, 0),
            update_revision=f"r{generation}",
        )
    return dataclasses.replace(workload, restarted_at=restarted_at, rollout=facts)


def finished(workload: workloads.Workload) -> workloads.Workload:
    """`workload` once its current rollout completed: every replica updated and available."""
    facts = workload.rollout
    desired = facts.desired or 0
    revision = f"r{facts.generation}"
    done = dataclasses.replace(
        facts,
        observed_generation=facts.generation,
        current=desired,
        updated=desired,
        ready=desired,
        available=desired,
        current_revision=revision,
        update_revision=revision,
        conditions=(),
    )
    return dataclasses.replace(workload, rollout=done)


def parse_selector(selector: str) -> set[tuple[str, str]]:
    """Equality-based selectors (`a=b,c=d`), enough for tests of the engine's scope handling."""
    pairs: set[tuple[str, str]] = set()
    for part in filter(None, (p.strip() for p in selector.split(","))):
        key, _, value = part.replace("==", "=").partition("=")
        pairs.add((key.strip(), value.strip()))
    return pairs
