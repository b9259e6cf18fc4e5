"""Docker Hub repository webhooks (docs.docker.com, "Webhooks": example payload).

`repository.repo_name` (`namespace/name`; official images are `library/name`) and
`push_data.tag`. The payload carries no digest, so such a run has no expected digest.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hooks import push
from bot.hooks.sources import fields
from commands.values import triggers

HOST = "docker.io"


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], document: object) -> push.Parsed:
    root = fields.mapping(document, "body")
    repo_name = fields.string(fields.child(root, "repository", ""), "repo_name", "repository")
    tag = fields.string(fields.child(root, "push_data", ""), "tag", "push_data")
    return push.Parsed(
        (fields.make_push(HOST, repo_name, tag, None, None, "repository.repo_name"),)
    )
