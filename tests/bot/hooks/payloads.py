"""Webhook payloads as each registry documents them, trimmed to the fields that matter plus a
few that do not (so parsers are shown to ignore what they do not need).

Sources: GitHub "Webhook events and payloads" (`package`, `registry_package`); Docker Hub
"Webhooks" (example payload); Harbor "Configure Webhook Notifications" (Default and
CloudEvents formats); CNCF distribution "Work with notifications" (envelope, events);
Red Hat Quay "Repository Notifications" (Repository Push).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_INDEX = "sha256:" + "c" * 64
SECRET = "s3cr3t-for-tests-only"


def encode(document: object) -> bytes:
    return json.dumps(document).encode("utf-8")


def github_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_package(
    *,
    owner: str = "Acme",
    name: str = "api",
    tag: str = "v1.2.3",
    digest: str = DIGEST_A,
    action: str = "published",
    package_type: str = "CONTAINER",
    key: str = "package",
) -> dict[str, Any]:
    """`X-GitHub-Event: package` (key="package") or the older `registry_package`."""
    return {
        "action": action,
        key: {
            "id": 10696,
            "name": name,
            "namespace": owner,
            "description": "",
            "ecosystem": package_type,
            "package_type": package_type,
            "html_url": f"https://github.com/orgs/{owner}/packages/container/package/{name}",
            "created_at": "2026-01-01T09:00:00Z",
            "updated_at": "2026-01-01T09:00:00Z",
            "owner": {"login": owner, "id": 21031067, "type": "Organization"},
            "package_version": {
                "id": 57755790,
                "version": digest,
                "name": digest,
                "html_url": f"https://github.com/orgs/{owner}/packages/container/{name}/57755790",
                "metadata": [],
                "container_metadata": {
                    "tag": {"name": tag, "digest": digest},
                    "labels": {"description": "", "source": ""},
                    "manifest": {
                        "digest": digest,
                        "media_type": "application/vnd.oci.image.index.v1+json",
                    },
                },
                "package_files": [],
                "installation_command": f"docker pull ghcr.io/{owner.lower()}/{name}:{tag}",
                "package_url": f"ghcr.io/{owner.lower()}/{name}:{tag}",
            },
            "registry": {
                "about_url": "https://docs.github.com/packages/learn-github-packages",
                "name": "GitHub CONTAINER registry",
                "type": "CONTAINER",
                "url": f"https://ghcr.io/{owner.lower()}",
                "vendor": "GitHub Inc",
            },
        },
        "organization": {"login": owner, "id": 38302899},
        "sender": {"login": "octocat", "id": 1},
    }


def dockerhub_push(*, repo_name: str = "acme/api", tag: str = "latest") -> dict[str, Any]:
    return {
        "callback_url": "https://registry.hub.docker.com/u/acme/api/hook/2141b5bi5i5b02bec211/",
        "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": tag},
        "repository": {
            "comment_count": 0,
            "date_created": 1417494799,
            "description": "",
            "is_official": False,
            "is_private": True,
            "name": repo_name.split("/")[-1],
            "namespace": repo_name.split("/")[0],
            "owner": repo_name.split("/")[0],
            "repo_name": repo_name,
            "repo_url": f"https://registry.hub.docker.com/u/{repo_name}/",
            "star_count": 0,
            "status": "Active",
        },
    }


def _harbor_data(
    host: str, repo_full_name: str, resources: list[tuple[str, str]]
) -> dict[str, Any]:
    namespace, _, name = repo_full_name.partition("/")
    return {
        "resources": [
            {"digest": digest, "tag": tag, "resource_url": f"{host}/{repo_full_name}:{tag}"}
            for tag, digest in resources
        ],
        "repository": {
            "date_created": 1586922308,
            "name": name,
            "namespace": namespace,
            "repo_full_name": repo_full_name,
            "repo_type": "private",
        },
    }


def harbor_default(
    *,
    host: str = "hub.harbor.example.com",
    repo_full_name: str = "team/api",
    resources: list[tuple[str, str]] | None = None,
    kind: str = "PUSH_ARTIFACT",
) -> dict[str, Any]:
    return {
        "type": kind,
        "occur_at": 1586922308,
        "operator": "admin",
        "event_data": _harbor_data(host, repo_full_name, resources or [("v2", DIGEST_A)]),
    }


def harbor_cloudevent(
    *,
    host: str = "hub.harbor.example.com",
    repo_full_name: str = "team/api",
    resources: list[tuple[str, str]] | None = None,
    kind: str = "harbor.artifact.pushed",
    event_id: str = "66e18103-09c1-41f6-982f-37df223f3eeb",
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "requestid": "51c0b694-0168-4f3c-b0db-282565455d7b",
        "source": "/projects/2/webhook/policies/15",
        "type": kind,
        "datacontenttype": "application/json",
        "time": "2023-04-03T06:04:46Z",
        "data": _harbor_data(host, repo_full_name, resources or [("v2", DIGEST_A)]),
        "operator": "admin",
    }


MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DISTRIBUTION_CONTENT_TYPE = "application/vnd.docker.distribution.events.v2+json"


def distribution_event(
    *,
    event_id: str,
    repository: str = "team/api",
    tag: str | None = "v1",
    digest: str = DIGEST_A,
    media_type: str = MANIFEST_V2,
    action: str = "push",
    host: str = "registry.example.com:5000",
) -> dict[str, Any]:
    target: dict[str, Any] = {
        "mediaType": media_type,
        "digest": digest,
        "size": 708,
        "length": 708,
        "repository": repository,
        "url": f"https://{host}/v2/{repository}/manifests/{digest}",
    }
    if tag is not None:
        target["tag"] = tag
    return {
        "id": event_id,
        "timestamp": "2026-01-01T09:00:00.402973972Z",
        "action": action,
        "target": target,
        "request": {
            "id": "6df24a34-0959-4923-81ca-14f09767db19",
            "addr": "10.0.0.7:42961",
            "host": host,
            "method": "PUT" if action == "push" else "GET",
            "useragent": "buildkit/v0.15",
        },
        "actor": {"name": "ci"},
        "source": {"addr": "registry-0:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"},
    }


def envelope(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


def quay_push(
    *, docker_url: str = "quay.io/acme/api", tags: object = ("latest",)
) -> dict[str, Any]:
    namespace, _, name = docker_url.partition("/")[2].partition("/")
    return {
        "name": name,
        "repository": f"{namespace}/{name}",
        "namespace": namespace,
        "docker_url": docker_url,
        "homepage": f"https://{docker_url.split('/')[0]}/repository/{namespace}/{name}",
        "updated_tags": list(tags) if isinstance(tags, tuple | list) else tags,
    }
