"""Harbor project webhooks, "Artifact pushed" (goharbor.io, "Configure Webhook Notifications").

Two payload formats, chosen per webhook policy in Harbor:

* Default: `{"type": "PUSH_ARTIFACT", "occur_at", "operator", "event_data": {...}}`
* CloudEvents 1.0: `{"specversion": "1.0", "id", "type": "harbor.artifact.pushed",
  "source", "time", "data": {...}}` (the CloudEvent `id` identifies the delivery)

Both carry `resources[]` = `{digest, tag, resource_url}` and `repository.repo_full_name`
(`project/name`). `resource_url` (`hub.example.com/project/name:tag`) is the only place the
registry host appears. A push by digest reports the digest as its "tag": that is no tag.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hooks import push
from bot.hooks.sources import fields
from commands.values import triggers

DEFAULT_TYPE = "PUSH_ARTIFACT"
CLOUDEVENT_TYPE = "harbor.artifact.pushed"


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], document: object) -> push.Parsed:
    root = fields.mapping(document, "body")
    kind = fields.optional_string(root, "type", "")
    if "specversion" in root:
        if kind != CLOUDEVENT_TYPE:
            return push.Parsed((), (f"event type {kind!r} is not an artifact push",))
        event_id = fields.optional_string(root, "id", "")
        data_key = "data"
    else:
        if kind != DEFAULT_TYPE:
            return push.Parsed((), (f"event type {kind!r} is not an artifact push",))
        event_id = None
        data_key = "event_data"
    data = fields.child(root, data_key, "")
    repository = fields.child(data, "repository", data_key)
    path = fields.string(repository, "repo_full_name", f"{data_key}.repository")
    pushes: list[push.Push] = []
    skipped: list[str] = []
    for index, item in enumerate(fields.items(data, "resources", data_key)):
        where = f"{data_key}.resources[{index}]"
        resource = fields.mapping(item, where)
        tag = fields.optional_string(resource, "tag", where)
        digest = fields.optional_string(resource, "digest", where)
        if tag is None or tag.startswith("sha256:"):
            skipped.append(f"{path}: pushed by digest, no tag")
            continue
        url = fields.optional_string(resource, "resource_url", where)
        host = trigger.registry or (
            fields.split_host(url, f"{where}.resource_url")[0] if url else ""
        )
        if not host:
            skipped.append(f"{path}: no registry host in the payload; set the trigger's registry")
            continue
        pushes.append(fields.make_push(host, path, tag, digest, event_id, where))
    return push.Parsed(tuple(pushes), tuple(skipped), (event_id,) if event_id else ())
