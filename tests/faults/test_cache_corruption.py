"""The cache ConfigMap damaged on the real control plane: deleted, not JSON, wrong schema,
truncated gzip, a key missing, edited by someone else. `check` says "needs rebuild" (exit 1) with
the reason, `select` and `orchestrate` never crash, and the next `rebuild` repairs it."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kubernetes import client as k8s_client

from commands.cli import main, parser
from commands.engine import cachedoc
from tests.kube import objects
from tests.support import controlplane as cp

pytestmark = pytest.mark.kube
IMAGE = "registry.example.com/team/api:1.4.2"
CACHE = "myctl-image-cache"


def myctl(kubeconfig: Path, namespace: str, *args: str) -> tuple[int, str]:
    runtime = main.Runtime(environ={}, stdin_is_tty=lambda: False, stderr_is_tty=lambda: False)
    argv = [*args, "-n", namespace, "--cache-namespace", namespace, "--kubeconfig", str(kubeconfig)]
    result = CliRunner().invoke(parser.cli, argv, obj=runtime)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _gzip_json(document: Any) -> dict[str, str]:
    return {
        cachedoc.BINARY_KEY: base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    }


DAMAGE: dict[str, tuple[dict[str, str] | None, dict[str, str] | None]] = {
    # name: (data, binaryData); None for both = the ConfigMap deleted
    "deleted": (None, None),
    "not-json": ({cachedoc.DATA_KEY: "{this is not json"}, {}),
    "json-but-a-list": ({cachedoc.DATA_KEY: "[1, 2, 3]"}, {}),
    "unknown-schema": ({cachedoc.DATA_KEY: json.dumps({"schema": 999, "images": {}})}, {}),
    "wrong-types": ({cachedoc.DATA_KEY: json.dumps({"schema": 1, "images": "nope"})}, {}),
    "no-key": ({"other": "x"}, {}),
    "truncated-gzip": (
        {},
        {cachedoc.BINARY_KEY: base64.b64encode(gzip.compress(b'{"a": 1}' * 100)[:40]).decode()},
    ),
    "gzip-of-garbage": ({}, {cachedoc.BINARY_KEY: base64.b64encode(b"\x1f\x8b garbage").decode()}),
    "gzip-of-a-list": ({}, _gzip_json([1])),
}


def _damage(api: k8s_client.ApiClient, namespace: str, how: str) -> None:
    core = k8s_client.CoreV1Api(api)
    data, binary = DAMAGE[how]
    if data is None:
        core.delete_namespaced_config_map(CACHE, namespace)
        return
    body = {"data": data, "binaryData": binary}
    current = core.read_namespaced_config_map(CACHE, namespace)
    current.data, current.binary_data = body["data"] or None, body["binaryData"] or None
    core.replace_namespaced_config_map(CACHE, namespace, current)


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_cache_needs_a_rebuild_and_the_next_rebuild_repairs_it(
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
    how: str,
) -> None:
    objects.deployment(kube_admin, kube_namespace, "api", IMAGE)
    kcfg = control_plane.kubeconfig
    assert myctl(kcfg, kube_namespace, "rebuild", "--force")[0] == 0
    assert myctl(kcfg, kube_namespace, "check")[0] == 0

    _damage(kube_admin, kube_namespace, how)

    code, output = myctl(kcfg, kube_namespace, "check")
    assert code == 1, output
    assert "rebuild" in output.lower(), output
    assert myctl(kcfg, kube_namespace, "select", IMAGE)[0] in (1, 2)  # an answer, not a crash
    assert myctl(kcfg, kube_namespace, "--dry-run", "orchestrate", "--image", IMAGE)[0] in (0, 1)
    assert myctl(kcfg, kube_namespace, "rebuild", "--force")[0] == 0
    assert myctl(kcfg, kube_namespace, "check")[0] == 0
    code, output = myctl(kcfg, kube_namespace, "select", IMAGE)
    assert code == 0 and "api" in output
