"""Kubernetes JSON objects -> `workloads.Workload`: the fields myctl reads, nothing more.

Plain dictionaries in, frozen values out; no client library needed, so it is cheap to test.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from commands.kube import port
from commands.values import images, workloads

Json = dict[str, Any]


def to_workload(kind: workloads.Kind, obj: Json) -> workloads.Workload:
    """A `Workload` from an apps/v1 object as the API serves it (camelCase JSON)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    template = spec.get("template") or {}
    pod_spec = template.get("spec") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    # Init containers pull images too (and restartable ones run for the pod's life), so a
    # restart refreshes them as well: they count as containers that run an image.
    containers = tuple(
        workloads.Container(
            name=str(c.get("name", "")),
            image=str(c.get("image", "")),
            pull_policy=str(
                c.get("imagePullPolicy") or default_pull_policy(str(c.get("image", "")))
            ),
            init=init,
        )
        for key, init in (("containers", False), ("initContainers", True))
        for c in pod_spec.get(key) or []
    )
    return workloads.Workload(
        ref=workloads.WorkloadRef(kind, str(meta.get("namespace", "")), str(meta.get("name", ""))),
        containers=containers,
        paused=bool(spec.get("paused", False)),
        restarted_at=annotations.get(port.RESTARTED_AT),
        rollout=_rollout(kind, meta, spec, status),
        labels=tuple(sorted((str(k), str(v)) for k, v in (meta.get("labels") or {}).items())),
        selector=label_selector(spec.get("selector") or {}),
        resource_version=str(meta.get("resourceVersion", "")),
    )


def label_selector(selector: Json) -> str:
    """A LabelSelector object as the `labelSelector` query string the API accepts."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = str(expression.get("key", "")), str(expression.get("operator", ""))
        values = ",".join(map(str, expression.get("values") or []))
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def to_pod(obj: Json) -> workloads.Pod:
    """A `Pod` with what verification reads: node, template annotation, container digests."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    statuses = [
        *(status.get("containerStatuses") or []),
        *(status.get("initContainerStatuses") or []),
    ]
    return workloads.Pod(
        name=str(meta.get("name", "")),
        node=str((obj.get("spec") or {}).get("nodeName") or ""),
        restarted_at=(meta.get("annotations") or {}).get(port.RESTARTED_AT),
        containers=tuple(
            workloads.PodContainer(
                name=str(c.get("name", "")),
                image=str(c.get("image", "")),
                digest=images.digest_of_image_id(str(c.get("imageID") or "")),
            )
            for c in statuses
        ),
        terminating=bool(meta.get("deletionTimestamp")),
    )


# The status fields of the current, updated, ready, available and unavailable counts.
_SCHEDULED = (
    "currentNumberScheduled",
    "updatedNumberScheduled",
    "numberReady",
    "numberAvailable",
    "numberUnavailable",
)
_REPLICAS = (
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


def _rollout(kind: workloads.Kind, meta: Json, spec: Json, status: Json) -> workloads.RolloutFacts:
    conditions = tuple(
        workloads.Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
        )
        for c in status.get("conditions") or []
    )
    # A DaemonSet counts the nodes it is scheduled on; the others count replicas.
    daemonset = kind is workloads.Kind.DAEMONSET
    desired = status.get("desiredNumberScheduled") if daemonset else spec.get("replicas")
    current, updated, ready, available, unavailable = (
        int(status.get(key, 0)) for key in (_SCHEDULED if daemonset else _REPLICAS)
    )
    strategy = spec.get("strategy" if kind is workloads.Kind.DEPLOYMENT else "updateStrategy") or {}
    facts = workloads.RolloutFacts(
        generation=int(meta.get("generation", 0)),
        observed_generation=int(status.get("observedGeneration", 0)),
        desired=None if desired is None else int(desired),
        current=current,
        updated=updated,
        ready=ready,
        available=available,
        unavailable=unavailable,
        update_strategy=str(strategy.get("type", "RollingUpdate")),
        conditions=conditions,
    )
    if kind is workloads.Kind.STATEFULSET:
        partition = (strategy.get("rollingUpdate") or {}).get("partition")
        facts = dataclasses.replace(
            facts,
            partition=None if partition is None else int(partition),
            current_revision=str(status.get("currentRevision", "")),
            update_revision=str(status.get("updateRevision", "")),
        )
    return facts


def default_pull_policy(image: str) -> str:
    """What the API server defaults: Always for `:latest` or no tag (unless pinned by digest)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"
