"""Rendering deploy/ with the tools scripts/tools-build builds (kustomize, helm), and a
server-side dry-run apply through the API server's own discovery.

Nothing here is applied for real: `dryRun=All` runs admission and validation (schemas, field
names, defaulting) and stores nothing.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support import controlplane as cp

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
CHART = DEPLOY / "helm" / "myctl"
Obj = dict[str, Any]


@functools.cache
def tools() -> dict[str, str]:
    """Paths of kustomize and helm: scripts/tools-build builds them once (minutes, cached)."""
    out = subprocess.run(
        [str(REPO_ROOT / "scripts" / "tools-build")],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = value
    return {"kustomize": found["MYCTL_KUSTOMIZE"], "helm": found["MYCTL_HELM"]}


def _documents(text: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all(text) if d]


def kustomize(path: Path) -> list[Obj]:
    out = subprocess.run(
        [tools()["kustomize"], "build", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return _documents(out.stdout)


def helm_env() -> dict[str, str]:
    """Helm's caches and configuration in a throwaway place: rendering needs no repositories."""
    return {
        **os.environ,
        "HELM_CACHE_HOME": "/tmp/myctl-helm",
        "HELM_CONFIG_HOME": "/tmp/myctl-helm",
    }


def helm(*args: str, namespace: str = "myctl") -> list[Obj]:
    """`helm template myctl deploy/helm/myctl ARGS…` (release `myctl`, as docs/operations.md)."""
    out = subprocess.run(
        [tools()["helm"], "template", "myctl", str(CHART), "--namespace", namespace, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=helm_env(),
    )
    return _documents(out.stdout)


def identities(objects: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of each object."""
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}


def by_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def _resource(plane: cp.ControlPlane, api_version: str, kind: str) -> tuple[str, str, bool]:
    """(collection path prefix, plural, namespaced) of `kind`, from API discovery."""
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    for resource in plane.request("GET", prefix)["resources"]:
        if resource["kind"] == kind and "/" not in resource["name"]:
            return prefix, resource["name"], bool(resource["namespaced"])
    raise AssertionError(f"the API server does not serve {kind} in {api_version}")


def dry_run_apply(plane: cp.ControlPlane, objects: Iterable[Obj]) -> list[str]:
    """Server-side apply every object with dryRun=All; returns the failures, one per line."""
    session = plane.session()
    failures = []
    for obj in objects:
        prefix, plural, namespaced = _resource(plane, obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        where = f"/namespaces/{meta.get('namespace', 'default')}" if namespaced else ""
        url = f"{plane.server}{prefix}{where}/{plural}/{meta['name']}"
        response = session.patch(
            url,
            data=yaml.safe_dump(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
            params={"dryRun": "All", "fieldManager": "myctl-deploy-test", "force": "true"},
            timeout=30,
        )
        if response.status_code >= 300:
            failures.append(f"{obj['kind']}/{meta['name']}: {response.status_code} {response.text}")
    return failures
