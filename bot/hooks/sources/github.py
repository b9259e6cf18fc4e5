"""GitHub Packages (the Container registry, ghcr.io): `package` and `registry_package` events.

Documented in GitHub's "Webhook events and payloads" (`package`, and the older
`registry_package` that GitHub still sends): `X-GitHub-Event` names the event, `action` is
`published` or `updated`, the package object is `package` resp. `registry_package` with
`package_type` (`container`; `docker` for packages from the retired Docker registry, which
GitHub moved to ghcr.io), `owner.login`, `name`, and
`package_version.container_metadata.tag` = `{name, digest}`. An untagged version (a platform
manifest of a multi-arch push) has an empty tag name and is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hooks import push
from bot.hooks.sources import fields
from commands.values import triggers

HOST = "ghcr.io"
EVENTS = {"package": "package", "registry_package": "registry_package"}
ACTIONS = frozenset({"published", "updated"})
CONTAINER_TYPES = frozenset({"container", "docker"})


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], document: object) -> push.Parsed:
    event = headers.get("x-github-event", "")
    root = fields.mapping(document, "body")
    if event == "ping":
        return push.Parsed((), ("ping: the webhook is set up",))
    if event not in EVENTS:
        return push.Parsed((), (f"event {event or '(none)'!r} is not a package event",))
    action = fields.optional_string(root, "action", "")
    if action not in ACTIONS:
        return push.Parsed((), (f"action {action!r} is not a publish or update",))
    key = EVENTS[event]
    package = fields.child(root, key, "")
    kind = (
        fields.optional_string(package, "package_type", key)
        or fields.optional_string(package, "ecosystem", key)
        or ""
    )
    if kind.lower() not in CONTAINER_TYPES:
        return push.Parsed((), (f"package type {kind!r} is not a container",))
    owner = fields.string(fields.child(package, "owner", key), "login", f"{key}.owner").lower()
    name = fields.string(package, "name", key)
    version = fields.child(package, "package_version", key)
    where = f"{key}.package_version.container_metadata.tag"
    metadata = fields.child(version, "container_metadata", f"{key}.package_version")
    tag_info = fields.child(metadata, "tag", f"{key}.package_version.container_metadata")
    tag = fields.optional_string(tag_info, "name", where)
    digest = fields.optional_string(tag_info, "digest", where)
    if tag is None:
        return push.Parsed((), (f"{HOST}/{owner}/{name}: untagged version",))
    host = trigger.registry or HOST
    return push.Parsed((fields.make_push(host, f"{owner}/{name}", tag, digest, None, where),))
