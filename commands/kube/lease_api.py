"""The Lease of `commands/kube/lease.py` on a real API server (coordination.k8s.io/v1).

No retries here: the election loop retries. Every client exception becomes one of
`commands.values.errors` (via `client.translate`); 409, and 404 on replace, are `LeaseConflict`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any, cast

import urllib3.exceptions
from kubernetes import client as k8s_client
from kubernetes.client import exceptions as k8s_exceptions

from commands.kube import client, kubeconfig, lease
from commands.values import clock as clock_mod
from commands.values import errors

_MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime's wire format


class KubeLeaseBackend:
    """A Lease in a namespace on a real API server (no retries: the election loop retries)."""

    def __init__(self, api_client: Any, namespace: str, name: str, request_timeout: float) -> None:
        self._api: Any = k8s_client.CoordinationV1Api(api_client)
        self._host = str(api_client.configuration.host)
        self.namespace = namespace
        self.name = name
        self._timeout = request_timeout

    def get(self) -> lease.LeaseRecord | None:
        try:
            obj = self._send("get", functools.partial(self._api.read_namespaced_lease, self.name))
        except errors.NotFound:
            return None
        return _record(obj)

    def create(self, record: lease.LeaseRecord) -> lease.LeaseRecord:
        body = _body(self.namespace, self.name, record)
        return _record(
            self._send("create", functools.partial(self._api.create_namespaced_lease, body=body))
        )

    def replace(self, record: lease.LeaseRecord) -> lease.LeaseRecord:
        body = _body(self.namespace, self.name, record)
        request = functools.partial(self._api.replace_namespaced_lease, self.name, body=body)
        return _record(self._send("update", request))

    def _send(self, verb: str, request: Callable[..., Any]) -> dict[str, Any]:
        subject = f"Lease {self.namespace}/{self.name}"
        action = client.Action(verb, lease.RESOURCE, self.namespace, subject)
        try:
            response = request(
                namespace=self.namespace,
                _request_timeout=self._timeout,
                _preload_content=False,
            )
            try:
                raw = response.data
            finally:
                response.release_conn()
            return cast(dict[str, Any], json.loads(raw))
        except k8s_exceptions.ApiException as exc:
            # 409 on create/replace and 404 on replace both mean another writer got there first.
            if exc.status == 409 or (exc.status == 404 and verb == "update"):
                raise lease.LeaseConflict(f"{subject} changed since it was read") from exc
            raise client.translate(exc, action, self._host) from exc
        except (urllib3.exceptions.HTTPError, OSError, json.JSONDecodeError) as exc:
            raise client.translate(exc, action, self._host) from exc


def connect(
    kubeconfig_path: str | None,
    context: str | None,
    namespace: str,
    name: str = lease.DEFAULT_LEASE_NAME,
    timing: lease.LeaseTiming | None = None,
) -> KubeLeaseBackend:
    """A backend for Lease `namespace/name`, using the same kubeconfig rules as the cluster."""
    timing = timing or lease.LeaseTiming()
    configuration = kubeconfig.load(kubeconfig_path, context)
    api_client = client.configure(configuration, concurrency=1)
    return KubeLeaseBackend(api_client, namespace, name, timing.request_timeout)


def _time(value: object) -> dt.datetime | None:
    if not value:
        return None
    try:
        return clock_mod.parse_rfc3339(str(value))
    except ValueError:
        return None


def _format(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime(_MICROTIME) if moment else None


def _record(obj: dict[str, Any]) -> lease.LeaseRecord:
    spec = obj.get("spec") or {}
    return lease.LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=_time(spec.get("acquireTime")),
        renew_time=_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((obj.get("metadata") or {}).get("resourceVersion", "")),
    )


def _body(namespace: str, name: str, record: lease.LeaseRecord) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if record.resource_version:
        metadata["resourceVersion"] = record.resource_version
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": record.holder,
            "leaseDurationSeconds": record.duration_seconds,
            "acquireTime": _format(record.acquire_time),
            "renewTime": _format(record.renew_time),
            "leaseTransitions": record.transitions,
        },
    }
