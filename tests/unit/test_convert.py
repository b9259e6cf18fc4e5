"""Rollout facts read from each kind's status as the API serves it (no cluster needed)."""

from __future__ import annotations

from typing import Any

from commands.kube import convert
from commands.values import workloads


def _facts(kind: workloads.Kind, spec: dict[str, Any], status: dict[str, Any]) -> Any:
    obj = {"metadata": {"name": "api", "namespace": "shop", "generation": 4}, "spec": spec}
    return convert.to_workload(kind, {**obj, "status": status}).rollout


def test_a_daemonset_counts_the_nodes_it_is_scheduled_on() -> None:
    status = {
        "observedGeneration": 3,
        "desiredNumberScheduled": 5,
        "currentNumberScheduled": 5,
        "updatedNumberScheduled": 4,
        "numberReady": 3,
        "numberAvailable": 2,
        "numberUnavailable": 1,
        "replicas": 99,  # not a DaemonSet field: never read
    }
    spec = {"replicas": 7, "updateStrategy": {"type": "OnDelete"}}
    facts = _facts(workloads.Kind.DAEMONSET, spec, status)
    assert (facts.generation, facts.observed_generation, facts.desired) == (4, 3, 5)
    assert (facts.current, facts.updated, facts.ready, facts.available) == (5, 4, 3, 2)
    assert (facts.unavailable, facts.update_strategy) == (1, "OnDelete")


def test_a_deployment_counts_replicas_and_omitted_counts_are_zero() -> None:
    spec = {"replicas": 3, "strategy": {"type": "Recreate"}}
    facts = _facts(workloads.Kind.DEPLOYMENT, spec, {"replicas": 3, "updatedReplicas": 2})
    assert (facts.desired, facts.current, facts.updated, facts.ready) == (3, 3, 2, 0)
    assert (facts.available, facts.unavailable, facts.update_strategy) == (0, 0, "Recreate")


def test_a_statefulset_reads_its_partition_and_revisions() -> None:
    spec = {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}
    status = {"readyReplicas": 2, "currentRevision": "r1", "updateRevision": "r2"}
    facts = _facts(workloads.Kind.STATEFULSET, spec, status)
    assert (facts.desired, facts.ready, facts.partition) == (None, 2, 1)
    assert (facts.current_revision, facts.update_revision) == ("r1", "r2")
