"""Quay repository notifications, event "Push to Repository" (Red Hat Quay docs,
"Repository Notifications": `docker_url`, `updated_tags`).

`docker_url` is `host/namespace/name`. `updated_tags` is a list of tag names; Quay's early
payloads sent a mapping of tag to image id instead (not a manifest digest), whose keys are
the tags. No digest either way.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hooks import push
from bot.hooks.sources import fields
from commands.values import triggers


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], document: object) -> push.Parsed:
    root = fields.mapping(document, "body")
    host, path = fields.split_host(fields.string(root, "docker_url", ""), "docker_url")
    host = trigger.registry or host
    raw = root.get("updated_tags")
    if isinstance(raw, dict):
        tags: list[object] = list(raw)
    elif isinstance(raw, list):
        tags = raw
    else:
        raise push.InvalidPayload("updated_tags: expected an array of tag names")
    pushes = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag:
            raise push.InvalidPayload(f"updated_tags[{index}]: expected a tag name")
        pushes.append(fields.make_push(host, path, tag, None, None, f"updated_tags[{index}]"))
    return push.Parsed(tuple(pushes), () if pushes else ("no tags updated",))
