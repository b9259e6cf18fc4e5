"""Workloads as the engine sees them: what the kube adapter reads, stripped to what myctl needs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from commands.values import errors


class Kind(enum.Enum):
    """The kinds `kubectl rollout restart` supports, and so do we."""

    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"

    @property
    def lower(self) -> str:
        return self.value.lower()

    @property
    def plural(self) -> str:
        return f"{self.value.lower()}s"


_KIND_ALIASES = {
    alias: kind
    for kind, aliases in {
        Kind.DEPLOYMENT: ("deployment", "deployments", "deploy"),
        Kind.STATEFULSET: ("statefulset", "statefulsets", "sts"),
        Kind.DAEMONSET: ("daemonset", "daemonsets", "ds"),
    }.items()
    for alias in aliases
}


def parse_kind(text: str) -> Kind:
    kind = _KIND_ALIASES.get(text.strip().lower().removesuffix(".apps"))
    if kind is None:
        raise errors.UsageError(
            f"unsupported kind {text!r}: expected deployment, statefulset or daemonset"
        )
    return kind


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """Identity of a workload. Sorted by kind, namespace, name for stable output."""

    kind: Kind = field(compare=False)
    namespace: str
    name: str
    kind_name: str = field(init=False, compare=True, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind_name", self.kind.value)

    def __str__(self) -> str:
        return f"{self.kind.lower}: {self.namespace}/{self.name}"

    @property
    def slug(self) -> str:
        """`deployment/ns/name`, the form `myctl restart` accepts back."""
        return f"{self.namespace}/{self.kind.lower}/{self.name}"


def parse_target(text: str, default_namespace: str) -> WorkloadRef:
    """`KIND/NAME` (namespace from --namespace) or `NAMESPACE/KIND/NAME`."""
    parts = text.strip().split("/")
    if len(parts) == 2 and all(parts):
        return WorkloadRef(parse_kind(parts[0]), default_namespace, parts[1])
    if len(parts) == 3 and all(parts):
        return WorkloadRef(parse_kind(parts[1]), parts[0], parts[2])
    raise errors.UsageError(
        f"invalid target {text!r}: expected KIND/NAME or NAMESPACE/KIND/NAME "
        "(for example deployment/api or shop/deployment/api)"
    )


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    pull_policy: str  # Always | IfNotPresent | Never, defaulted by the API server
    init: bool = False  # listed in initContainers (a pinning patch must name the right list)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class RolloutFacts:
    """The status fields kubectl's rollout-status rules read, for all three kinds.

    Counts are None when the API omitted them (the API omits zero values).
    """

    generation: int = 0
    observed_generation: int = 0
    desired: int | None = None  # spec.replicas, or status.desiredNumberScheduled for DaemonSets
    current: int = 0  # status.replicas / currentNumberScheduled
    updated: int = 0  # status.updatedReplicas / updatedNumberScheduled
    ready: int = 0
    available: int = 0
    unavailable: int = 0
    update_strategy: str = "RollingUpdate"
    partition: int | None = None  # StatefulSet rollingUpdate.partition
    current_revision: str = ""  # StatefulSet
    update_revision: str = ""  # StatefulSet
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Workload:
    """One workload read from the cluster."""

    ref: WorkloadRef
    containers: tuple[Container, ...]
    paused: bool = False
    restarted_at: str | None = None  # the kubectl.kubernetes.io/restartedAt annotation
    rollout: RolloutFacts = RolloutFacts()
    labels: tuple[tuple[str, str], ...] = ()
    # spec.selector as a label-selector string: how the workload's pods are found.
    selector: str = ""
    resource_version: str = ""  # where a watch of this object starts


@dataclass(frozen=True)
class PodContainer:
    """One container status of a pod: what it runs, as the kubelet reports it."""

    name: str
    image: str
    digest: str | None  # `sha256:…` from imageID; None while the container has not started


@dataclass(frozen=True)
class Pod:
    name: str
    node: str
    restarted_at: str | None  # the template's restartedAt annotation this pod was created with
    containers: tuple[PodContainer, ...] = ()
    terminating: bool = False
