"""The local OCI registry and its push helpers: digests are real and reproducible.

These need only the registry (no control plane), so they are not marked kube.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from typing import Any

import pytest

from tests.support import polling, registry_plugin
from tests.support import registry as reg


def _repo(prefix: str) -> str:
    return f"harness/{prefix}-{uuid.uuid4().hex[:8]}"


def test_each_push_of_a_tag_is_what_resolve_returns(registry: reg.LocalRegistry) -> None:
    repo = _repo("app")
    first = registry.push_image(repo, "v1", seed="one")
    assert registry.resolve(repo, "v1") == first
    second = registry.push_image(repo, "v1", seed="two")
    assert second != first
    assert registry.resolve(repo, "v1") == second


def test_the_same_seed_gives_the_same_digest(registry: reg.LocalRegistry) -> None:
    a = registry.push_image(_repo("a"), "v1", seed="same")
    b = registry.push_image(_repo("b"), "v2", seed="same")
    assert a == b
    assert a.startswith("sha256:") and len(a) == len("sha256:") + 64


def test_an_index_push_names_one_manifest_per_platform(registry: reg.LocalRegistry) -> None:
    repo = _repo("multi")
    index, platforms = registry.push_index(repo, "v1", seed="multi")
    assert len(platforms) == len(set(platforms)) == 2
    assert index not in platforms
    assert registry.resolve(repo, "v1") == index
    got = registry.http.get(
        f"{registry.url}/v2/{repo}/manifests/v1",
        headers={"Accept": reg.MANIFEST_ACCEPT},
        timeout=10,
    )
    assert got.headers["Content-Type"] == reg.OCI_INDEX
    listed = [(m["digest"], m["platform"]["architecture"]) for m in got.json()["manifests"]]
    assert listed == [(platforms[0], "amd64"), (platforms[1], "arm64")]
    for digest in platforms:  # each platform manifest is stored under its digest
        assert registry.resolve(repo, digest) == digest


def test_a_docker_v2_manifest_is_stored_as_one(registry: reg.LocalRegistry) -> None:
    repo = _repo("docker")
    digest = registry.push_image(repo, "v1", seed="d", docker=True)
    got = registry.http.get(
        f"{registry.url}/v2/{repo}/manifests/{digest}",
        headers={"Accept": reg.MANIFEST_ACCEPT},
        timeout=10,
    )
    assert got.headers["Content-Type"] == reg.DOCKER_MANIFEST
    assert reg.sha256_digest(got.content) == digest


def test_an_unknown_tag_does_not_resolve(registry: reg.LocalRegistry) -> None:
    with pytest.raises(reg.RegistryError, match="404"):
        registry.resolve(_repo("missing"), "v1")


class _Hook(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that records (Authorization header, envelope) per delivery."""

    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


def test_a_push_notifies_the_configured_endpoint(
    start_registry: registry_plugin.StartRegistry,
) -> None:
    """One manifest event per manifest PUT: an index push sends three (two platforms, then
    the index), with the headers from the endpoint's configuration."""
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/local"
        notifying = start_registry([("hook", url, {"Authorization": "Bearer s3cret"})])
        index, platforms = notifying.push_index(_repo("notify"), "v1", seed="n")

        manifest_types = {reg.OCI_MANIFEST, reg.OCI_INDEX}

        def manifest_pushes() -> list[str]:
            return [
                event["target"]["digest"]
                for _, envelope in received
                for event in envelope["events"]
                if event["action"] == "push" and event["target"]["mediaType"] in manifest_types
            ]

        polling.wait_until(lambda: len(manifest_pushes()) >= 3, 30, "3 manifest push events")
        assert sorted(manifest_pushes()) == sorted([index, *platforms])
        assert {auth for auth, _ in received} == {"Bearer s3cret"}
    finally:
        server.shutdown()
        server.server_close()


def test_the_registry_answers_on_loopback_only(registry: reg.LocalRegistry) -> None:
    assert registry.host.startswith("127.0.0.1:")
    assert registry.http.get(f"{registry.url}/v2/", timeout=5).status_code == 200
