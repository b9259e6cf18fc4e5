"""The CNCF distribution registry's notifications (distribution.github.io, "Work with
notifications"); GitLab's container registry and Azure Container Registry send the same.

An envelope `{"events": [...]}`, content type `application/vnd.docker.distribution.events.v1+json`
(v2 of the registry) or `…events.v2+json` (v3). Events in one envelope are unrelated (several
repositories may appear). Each event has `id`, `action` (`push`, `pull`, `delete`, `mount`),
`target` = `{mediaType, digest, size, repository, url, tag}` and `request.host`.

Only `push` of a manifest (by media type) that carries a tag is a push here. Layer (blob)
pushes and manifests pushed by digest (the platform manifests of a multi-arch image, before
the index is pushed under the tag) are skipped. The host is the trigger's `registry` when set,
else `request.host`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hooks import push
from bot.hooks.sources import fields
from commands.values import triggers

MANIFEST_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)
CONTENT_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
    }
)


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], document: object) -> push.Parsed:
    root = fields.mapping(document, "body")
    pushes: list[push.Push] = []
    skipped: list[str] = []
    event_ids: list[str] = []
    for index, item in enumerate(fields.items(root, "events", "")):
        where = f"events[{index}]"
        event = fields.mapping(item, where)
        event_id = fields.optional_string(event, "id", where)
        if event_id:
            event_ids.append(event_id)
        action = fields.optional_string(event, "action", where)
        target = fields.child(event, "target", where)
        media_type = fields.optional_string(target, "mediaType", f"{where}.target") or ""
        if action != "push":
            skipped.append(f"{where}: {action} event")
            continue
        if media_type.split(";")[0].strip() not in MANIFEST_TYPES:
            skipped.append(f"{where}: not a manifest ({media_type or 'no media type'})")
            continue
        repository = fields.string(target, "repository", f"{where}.target")
        tag = fields.optional_string(target, "tag", f"{where}.target")
        if tag is None:
            skipped.append(f"{where}: {repository} manifest pushed by digest, no tag")
            continue
        digest = fields.optional_string(target, "digest", f"{where}.target")
        host = trigger.registry
        if host is None:
            request = event.get("request")
            request_map = fields.mapping(request, f"{where}.request") if request else {}
            host = (fields.optional_string(request_map, "host", f"{where}.request") or "").lower()
        if not fields.looks_like_host(host):
            skipped.append(
                f"{where}: request.host {host!r} is not a registry host; set the trigger's registry"
            )
            continue
        pushes.append(fields.make_push(host, repository, tag, digest, event_id, where))
    return push.Parsed(tuple(pushes), tuple(skipped), tuple(event_ids))
