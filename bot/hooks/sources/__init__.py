"""Payload parsers, one module per registry, each written from that registry's documentation.

`parse` picks the module for the trigger's source. Every parser takes the decoded JSON document
and returns `push.Parsed`; anything that is not the documented shape raises
`push.InvalidPayload`, never another exception. Nothing here authenticates: callers parse only
what `auth.verify` accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.hooks import push
from bot.hooks.sources import distribution, dockerhub, fields, github, harbor, quay
from commands.values import triggers

Parser = Callable[[triggers.Trigger, Mapping[str, str], object], push.Parsed]

PARSERS: dict[triggers.Source, Parser] = {
    triggers.Source.GITHUB: github.parse,
    triggers.Source.DOCKERHUB: dockerhub.parse,
    triggers.Source.HARBOR: harbor.parse,
    triggers.Source.DISTRIBUTION: distribution.parse,
    triggers.Source.QUAY: quay.parse,
}


def parse(trigger: triggers.Trigger, headers: Mapping[str, str], body: bytes) -> push.Parsed:
    """Decode `body` and parse it as `trigger.source` documents it.

    `headers` must have lower-case names (as `handler` passes them).
    """
    document = fields.load(body)
    return PARSERS[trigger.source](trigger, headers, document)
