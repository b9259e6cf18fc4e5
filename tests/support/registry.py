"""A real OCI registry (the CNCF distribution registry) for tests, and helpers that push to it.

Why a real registry: digests, multi-arch indexes, HEAD with Accept negotiation and push
notifications are what verified rollouts and registry triggers depend on (docs/registry.md),
and only the real registry gets their details right (which manifest types it stores, which
digest it returns, one notification per manifest PUT).

The binary comes from `scripts/registry-build` (built from Go modules, cached in
~/.cache/myctl/registry/<version>/bin/registry). Used by the pytest plugin
(`tests/support/registry_plugin.py`) and by `scripts/registry-local` (detached).

Pushes go through the registry's HTTP API (distribution spec) with requests, so no docker,
podman or crane is needed. Everything is deterministic: the same seed gives byte-identical
blobs and manifests, hence the same digests.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
import yaml

from tests.support import processes

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_BUILD = REPO_ROOT / "scripts" / "registry-build"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# What a container runtime sends when it resolves a tag: without the index/list types the
# registry would answer for a multi-arch tag with an error instead of the index digest.
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))

# Notifications: the registry's defaults (1s timeout, 10 failures, then 1s backoff) make a
# test that sends to a not-yet-listening hook wait seconds; these keep retries sub-second.
NOTIFY_TIMEOUT = "2s"
NOTIFY_THRESHOLD = 3
NOTIFY_BACKOFF = "100ms"

Endpoint = tuple[str, str, Mapping[str, str]]  # (name, url, headers)


class RegistryError(RuntimeError):
    """The registry could not be built, started, or refused a push."""


def build_registry(env: Mapping[str, str] | None = None) -> Path:
    """Run scripts/registry-build (a no-op when cached) and return the binary's path.

    Raises RegistryError with the build's stderr tail: a broken build must fail tests
    loudly rather than skip them.
    """
    proc = subprocess.run(
        ["bash", str(REGISTRY_BUILD)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RegistryError(f"scripts/registry-build failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def sha256_digest(data: bytes) -> str:
    """The content digest of `data`, as registries write it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(doc: Mapping[str, Any]) -> bytes:
    # Sorted keys, no spaces: the bytes (hence the digest) depend only on the content.
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _layer(seed: str, arch: str) -> bytes:
    """A real, reproducible tar.gz with one file (fixed mtimes, no gzip timestamp)."""
    content = f"seed={seed} arch={arch}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("etc/myctl-test-image")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


class LocalRegistry:
    """The distribution registry on a free 127.0.0.1 port, storage on the filesystem.

    `workdir=None` uses (and on stop removes) a fresh temp dir; otherwise config and log
    live in `workdir` and images in `storage` (default `workdir/storage`), kept on stop.
    `endpoints` become `notifications.endpoints` in config.yml: (name, url, headers).
    `detach=True` starts the process in its own session without the atexit safety net,
    so it outlives Python (scripts/registry-local); stop it later by pid.
    """

    def __init__(
        self,
        binary: Path | None = None,
        workdir: Path | None = None,
        *,
        endpoints: Sequence[Endpoint] = (),
        storage: Path | None = None,
        port: int | None = None,
        detach: bool = False,
        ready_timeout: float = 30.0,
    ) -> None:
        self.binary = binary
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="myctl-reg-"))
        self.storage = Path(storage) if storage else self.workdir / "storage"
        self.endpoints = list(endpoints)
        self.port = port or 0
        self.detach = detach
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.config_file = self.workdir / "config.yml"
        self.log_file = self.workdir / "registry.log"
        self.http = requests.Session()
        self.http.trust_env = False  # a proxy must never see loopback traffic

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`: the registry part of image references pushed here."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API (plain HTTP: loopback only)."""
        return f"http://{self.host}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def ref(self, repo: str, tag: str | None = None, digest: str | None = None) -> str:
        """An image reference to this registry: `127.0.0.1:PORT/repo[:tag][@digest]`."""
        return f"{self.host}/{repo}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")

    # ------------------------------------------------------------------ lifecycle
    def config(self) -> dict[str, Any]:
        """The config.yml this registry runs with."""
        cfg: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                # Upload purging walks storage on a timer; nothing here leaves uploads behind.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        if self.endpoints:
            cfg["notifications"] = {
                "events": {"includereferences": True},
                "endpoints": [
                    {
                        "name": name,
                        "url": url,
                        "headers": {k: [v] for k, v in headers.items()},
                        "timeout": NOTIFY_TIMEOUT,
                        "threshold": NOTIFY_THRESHOLD,
                        "backoff": NOTIFY_BACKOFF,
                    }
                    for name, url, headers in self.endpoints
                ],
            }
        return cfg

    def start(self) -> LocalRegistry:
        """Write config.yml, start the registry, return once GET /v2/ answers (or raise)."""
        if self.binary is None:
            self.binary = build_registry()
        if not self.port:
            self.port = processes.free_port()
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        if not self.detach:
            atexit.register(self.stop)
        env = {
            **os.environ,
            # The registry exports traces over OTLP by default and would log a connection
            # error for every request; there is no collector here.
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_SDK_DISABLED": "true",
        }
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", str(self.config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=self.detach,
                preexec_fn=None if self.detach else processes.die_with_parent,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-3000:]
                raise RegistryError(f"registry exited with {self.proc.returncode}:\n{tail}")
            try:
                r = self.http.get(f"{self.url}/v2/", timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[-300:]}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.05)  # polling interval while the process binds its port
        raise RegistryError(f"registry not ready in {self.ready_timeout}s: {last}")

    def stop(self) -> None:
        """Kill the process (by pid) and remove an owned temp dir."""
        if self.proc is not None:
            processes.kill_pids([self.proc.pid])
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=1)
            self.proc = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ pushes
    def push_blob(self, repo: str, data: bytes) -> str:
        """Upload one blob (skipped when the registry has it); return its digest."""
        digest = sha256_digest(data)
        base = f"{self.url}/v2/{repo}/blobs"
        if self.http.head(f"{base}/{digest}", timeout=10).status_code == 200:
            return digest
        r = self.http.post(f"{base}/uploads/", timeout=10)
        self._check(r, f"start upload to {repo}")
        location = urljoin(self.url, r.headers["Location"])
        sep = "&" if "?" in location else "?"
        r = self.http.put(
            f"{location}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        self._check(r, f"upload blob to {repo}")
        return digest

    def push_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest (or index) by tag or digest; return its digest, checked against
        the one the registry computed."""
        r = self.http.put(
            f"{self.url}/v2/{repo}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
            timeout=30,
        )
        self._check(r, f"push manifest {repo}:{reference}")
        digest = sha256_digest(body)
        served = r.headers.get("Docker-Content-Digest", digest)
        if served != digest:
            raise RegistryError(f"registry says {served} for a manifest whose digest is {digest}")
        return digest

    def _image_manifest(
        self, repo: str, seed: str, os_name: str, arch: str, *, docker: bool
    ) -> tuple[bytes, str]:
        layer = _layer(seed, arch)
        layer_digest = self.push_blob(repo, layer)
        diff_id = sha256_digest(gzip.decompress(layer))
        config = _canonical(
            {
                "architecture": arch,
                "os": os_name,
                "config": {"Labels": {"myctl.test/seed": seed}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        )
        config_digest = self.push_blob(repo, config)
        media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        return _canonical(manifest), media_type

    def push_image(self, repo: str, tag: str, *, seed: str, docker: bool = False) -> str:
        """Push a single-platform image (config + one layer + manifest) as repo:tag.

        Returns the manifest digest `sha256:…`: the same for the same seed, different for
        a different one. `docker=True` pushes a Docker v2 schema 2 manifest instead of OCI.
        One notification (a manifest push) per call; blob pushes are events too.
        """
        body, media_type = self._image_manifest(repo, seed, "linux", "amd64", docker=docker)
        return self.push_manifest(repo, tag, body, media_type)

    def push_index(self, repo: str, tag: str, *, seed: str) -> tuple[str, list[str]]:
        """Push a multi-arch image: one manifest per platform in PLATFORMS (by digest), then
        an OCI image index naming them as repo:tag. A push like `docker buildx` does, so the
        registry sends one manifest event per platform plus one for the index.

        Returns (index digest, [platform manifest digests in PLATFORMS order]).
        """
        entries, digests = [], []
        for os_name, arch in PLATFORMS:
            body, media_type = self._image_manifest(repo, seed, os_name, arch, docker=False)
            digest = self.push_manifest(repo, sha256_digest(body), body, media_type)
            digests.append(digest)
            entries.append(
                {
                    "mediaType": media_type,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
        index = _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        return self.push_manifest(repo, tag, index, OCI_INDEX), digests

    def resolve(self, repo: str, tag: str) -> str:
        """The digest repo:tag points to now, as a runtime resolves it (HEAD, Accept for
        indexes and manifests, Docker-Content-Digest). Raises RegistryError when unknown."""
        r = self.http.head(
            f"{self.url}/v2/{repo}/manifests/{tag}",
            headers={"Accept": MANIFEST_ACCEPT},
            timeout=10,
        )
        self._check(r, f"resolve {repo}:{tag}")
        return str(r.headers["Docker-Content-Digest"])

    def tags(self, repo: str) -> list[str]:
        """The repository's tags (GET /v2/<repo>/tags/list)."""
        r = self.http.get(f"{self.url}/v2/{repo}/tags/list", timeout=10)
        self._check(r, f"list tags of {repo}")
        return list(r.json().get("tags") or [])

    @staticmethod
    def _check(r: requests.Response, what: str) -> None:
        if r.status_code >= 300:
            raise RegistryError(f"{what}: {r.status_code} {r.text[:500]}")
