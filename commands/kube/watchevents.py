"""A watch's events, as the workload states `Cluster.watch_workload` yields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commands.kube import convert, transport
from commands.values import errors, workloads


def workloads_of(
    events: Iterable[dict[str, Any]], kind: workloads.Kind, action: transport.Action
) -> Iterator[workloads.Workload]:
    """Each ADDED or MODIFIED object as a workload. An expired watch (410) is WatchExpired, to
    be resumed from a fresh read; another ERROR is a ServerError; DELETED ends the rollout."""
    for event in events:
        obj = event.get("object") or {}
        if event.get("type") == "ERROR":
            if int(obj.get("code", 0)) == 410:
                raise errors.WatchExpired(f"watch of {action.subject} expired")
            raise errors.ServerError(f"watch of {action.subject}: {obj.get('message')}")
        if event.get("type") in ("ADDED", "MODIFIED"):
            yield convert.to_workload(kind, obj)
        elif event.get("type") == "DELETED":
            raise errors.NotFound(f"{action.subject} was deleted during the rollout")
