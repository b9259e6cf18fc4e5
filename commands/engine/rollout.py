"""kubectl's rollout-status rules (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from commands.values import workloads


class State(enum.Enum):
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"
    FAILED = "failed"  # e.g. the Deployment exceeded its progress deadline


@dataclass(frozen=True)
class Status:
    state: State
    message: str


def status(workload: workloads.Workload) -> Status:
    facts = workload.rollout
    kind = workload.ref.kind
    if kind is workloads.Kind.DEPLOYMENT:
        return _deployment(facts)
    if kind is workloads.Kind.DAEMONSET:
        return _daemonset(facts)
    return _statefulset(facts)


def _deployment(f: workloads.RolloutFacts) -> Status:
    if f.generation > f.observed_generation:
        return Status(State.IN_PROGRESS, "waiting for the deployment spec update to be observed")
    for condition in f.conditions:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return Status(State.FAILED, "exceeded its progress deadline")
    desired = f.desired
    if desired is not None and f.updated < desired:
        return Status(State.IN_PROGRESS, f"{f.updated} of {desired} updated replicas are available")
    if f.current > f.updated:
        return Status(
            State.IN_PROGRESS, f"{f.current - f.updated} old replicas are pending termination"
        )
    if f.available < f.updated:
        return Status(
            State.IN_PROGRESS, f"{f.available} of {f.updated} updated replicas are available"
        )
    return Status(State.COMPLETE, "successfully rolled out")


def _daemonset(f: workloads.RolloutFacts) -> Status:
    if f.update_strategy != "RollingUpdate":
        return Status(
            State.FAILED, "rollout status is only available for the RollingUpdate strategy"
        )
    if f.generation > f.observed_generation:
        return Status(State.IN_PROGRESS, "waiting for the daemon set spec update to be observed")
    desired = f.desired or 0
    if f.updated < desired:
        return Status(State.IN_PROGRESS, f"{f.updated} of {desired} updated pods are available")
    if f.available < desired:
        return Status(State.IN_PROGRESS, f"{f.available} of {desired} updated pods are available")
    return Status(State.COMPLETE, "successfully rolled out")


def _statefulset(f: workloads.RolloutFacts) -> Status:
    if f.update_strategy != "RollingUpdate":
        return Status(
            State.FAILED, "rollout status is only available for the RollingUpdate strategy"
        )
    if f.observed_generation == 0 or f.generation > f.observed_generation:
        return Status(State.IN_PROGRESS, "waiting for the statefulset spec update to be observed")
    if f.desired is not None and f.ready < f.desired:
        return Status(State.IN_PROGRESS, f"{f.ready} of {f.desired} pods are ready")
    if f.partition is not None and f.desired is not None and f.partition > 0:
        if f.updated < f.desired - f.partition:
            return Status(
                State.IN_PROGRESS,
                f"{f.updated} of {f.desired - f.partition} pods updated (partitioned roll out)",
            )
        return Status(State.COMPLETE, "partitioned roll out complete")
    if f.update_revision != f.current_revision:
        return Status(State.IN_PROGRESS, f"{f.updated} pods at revision {f.update_revision}")
    return Status(State.COMPLETE, "rolling update complete")
