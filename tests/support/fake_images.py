"""Images as the fake kubelet sees them: references, pull policies, and remote digests.

Split from tests/support/fake_kubelet.py (which places pods and writes their status) so
each module does one thing. Like the kubelet module, it needs only requests: scripts/kube-local
runs the kubelet as a process.

- `normalize` turns a reference into what container runtimes store it as
  (`nginx` → `docker.io/library/nginx:latest`, see docs/control-plane.md);
- `RemoteImages.digest` answers "what digest does this reference point to now?":
  images on a loopback registry (127.x, localhost, [::1]) are asked over HTTP, as a runtime
  would; every other image has a synthetic digest, stable until a test moves the tag
  (overrides in the ConfigMap kube-system/fake-registry, so they work across processes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import requests

# What containerd and docker send when resolving a tag: indexes first, so a multi-arch tag
# resolves to its index digest (the digest a kubelet reports in imageID).
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)

OVERRIDES_NAMESPACE = "kube-system"
OVERRIDES_NAME = "fake-registry"

ALWAYS, IF_NOT_PRESENT, NEVER = "Always", "IfNotPresent", "Never"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class PullError(Exception):
    """An image could not be pulled; `reason` is the kubelet's waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ImageRef:
    """A normalized reference: repository with its registry, and a tag and/or a digest."""

    repository: str  # e.g. docker.io/library/nginx, 127.0.0.1:5000/team/app
    tag: str | None
    digest: str | None

    @property
    def key(self) -> str:
        """The identity runtimes cache under: the digest wins over the tag."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"

    @property
    def tagged(self) -> str:
        """repository:tag (the tag `latest` when only a digest was given is not implied)."""
        return f"{self.repository}:{self.tag}" if self.tag else self.repository

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def path(self) -> str:
        """The repository inside its registry (what goes after /v2/)."""
        return self.repository.split("/", 1)[1]

    @property
    def familiar(self) -> str:
        """The short form docker shows (`nginx`, `acme/app`), as in `docker-pullable://…`."""
        name = self.repository
        for prefix in ("docker.io/library/", "docker.io/"):
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    @property
    def loopback(self) -> bool:
        """On a registry on this machine: asked over HTTP rather than given a fake digest."""
        host = self.registry
        # Strip the port: `[::1]:5000` → `::1`, `127.0.0.1:5000` → `127.0.0.1`.
        host = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        return host in ("localhost", "::1") or host.startswith("127.")


def normalize(image: str) -> ImageRef:
    """Normalize as docker/containerd do: a first component with `.` or `:` (or `localhost`)
    is a registry, else the registry is docker.io and one-part names are under `library/`;
    `index.docker.io` is docker.io; the tag is `latest` only when there is neither a tag
    nor a digest."""
    name, _, digest = image.strip().partition("@")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name
    if registry == "index.docker.io":
        registry = "docker.io"
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return ImageRef(f"{registry}/{path.lower()}", tag, digest or None)


def default_pull_policy(ref: ImageRef) -> str:
    """The API server's default, for pods whose policy is missing: Always for `latest`
    (or no tag), IfNotPresent otherwise (a digest-only reference is IfNotPresent too)."""
    if ref.tag == "latest" and not ref.digest:
        return ALWAYS
    return IF_NOT_PRESENT


def synthetic_digest(key: str) -> str:
    """The digest an image not on a loopback registry has until a test moves its tag."""
    return "sha256:" + hashlib.sha256(f"fake-registry\n{key}".encode()).hexdigest()


def next_digest(key: str, current: str) -> str:
    """The digest after moving the tag: a chain, so each move gives a new, reproducible one."""
    return "sha256:" + hashlib.sha256(f"{key}\n{current}".encode()).hexdigest()


def override_key(key: str) -> str:
    """A ConfigMap data key for a reference (keys allow only [-._a-zA-Z0-9]): readable, plus
    a short hash so that references which sanitize alike do not collide."""
    slug = re.sub(r"[^-._a-zA-Z0-9]", "_", key)[:200]
    return f"{slug}.{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def parse_overrides(data: dict[str, str] | None) -> dict[str, str]:
    """ConfigMap data → {normalized reference: digest}. Each value is `REF@sha256:…` (the key
    is free-form, one key per reference); malformed values are ignored, as hand edits happen."""
    out: dict[str, str] = {}
    for key in sorted(data or {}):
        value = (data or {})[key].strip()
        ref_text, _, digest = value.rpartition("@")
        if ref_text and _DIGEST.match(digest):
            out[normalize(ref_text).key] = digest
    return out


class RemoteImages:
    """Where a pull learns the current digest of a reference.

    `api` is an authenticated session to the API server at `server` (for the overrides
    ConfigMap); registries on loopback are reached with a separate plain session.
    """

    def __init__(self, api: requests.Session, server: str, timeout: float = 5.0) -> None:
        self.api = api
        self.server = server
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only: a proxy must never see it

    @property
    def _overrides_path(self) -> str:
        return f"/api/v1/namespaces/{OVERRIDES_NAMESPACE}/configmaps/{OVERRIDES_NAME}"

    def overrides(self) -> dict[str, str]:
        """The moved tags, read live (another process may have moved one)."""
        r = self.api.get(self.server + self._overrides_path, timeout=15)
        if r.status_code == 404:
            return {}
        r.raise_for_status()
        return parse_overrides(r.json().get("data"))

    def set_override(self, ref: ImageRef, digest: str) -> None:
        """Point a (non-loopback) reference at `digest` for every kubelet on this cluster."""
        if not _DIGEST.match(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        data = {override_key(ref.key): f"{ref.key}@{digest}"}
        # A merge patch touches only this key, so concurrent moves of other tags never
        # conflict; the first move creates the ConfigMap.
        r = self.api.patch(
            self.server + self._overrides_path,
            json={"data": data},
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=15,
        )
        if r.status_code == 404:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": OVERRIDES_NAME, "namespace": OVERRIDES_NAMESPACE},
                "data": data,
            }
            path = f"/api/v1/namespaces/{OVERRIDES_NAMESPACE}/configmaps"
            r = self.api.post(self.server + path, json=body, timeout=15)
            if r.status_code == 409:  # created meanwhile by someone else: patch it
                self.set_override(ref, digest)
                return
        r.raise_for_status()

    def digest(self, ref: ImageRef) -> str:
        """The digest `ref` points to now; raises PullError(ErrImagePull) when it cannot be
        resolved (registry down, unknown repository, tag or digest)."""
        if ref.loopback:
            return self._registry_digest(ref)
        if ref.digest:
            return ref.digest
        return self.overrides().get(ref.key) or synthetic_digest(ref.key)

    def _registry_digest(self, ref: ImageRef) -> str:
        reference = ref.digest or ref.tag or "latest"
        url = f"http://{ref.registry}/v2/{ref.path}/manifests/{reference}"
        try:
            r = self.http.head(url, headers={"Accept": MANIFEST_ACCEPT}, timeout=self.timeout)
        except requests.RequestException as exc:
            # The exception's own text is a page of urllib3 internals; a kubelet says less.
            reason = f"{ref.registry} unreachable ({type(exc).__name__})"
            raise PullError("ErrImagePull", f"failed to resolve {ref.key}: {reason}") from exc
        if r.status_code == 404:
            raise PullError("ErrImagePull", f"failed to resolve {ref.key}: {ref.key}: not found")
        if r.status_code != 200:
            raise PullError(
                "ErrImagePull", f"failed to resolve {ref.key}: unexpected status {r.status_code}"
            )
        served = r.headers.get("Docker-Content-Digest", "")
        if ref.digest:
            return ref.digest
        if not _DIGEST.match(served):
            raise PullError("ErrImagePull", f"{url}: no Docker-Content-Digest in the answer")
        return served
