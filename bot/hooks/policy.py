"""Which pushes a trigger acts on: the repository must match `images`, the tag `tags`.

Globs are `fnmatch` patterns compared case-sensitively with the normalized repository
(`docker.io/library/nginx`, never `nginx`) and the tag. `*` also matches `/`, so
`ghcr.io/acme/*` covers `ghcr.io/acme/team/api` too (docs/triggers.md).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from bot.hooks import push
from commands.values import triggers


@dataclass(frozen=True)
class Ignored:
    push: push.Push
    reason: str


@dataclass(frozen=True)
class Verdict:
    accepted: tuple[push.Push, ...]
    ignored: tuple[Ignored, ...]


def evaluate(trigger: triggers.Trigger, pushes: tuple[push.Push, ...]) -> Verdict:
    accepted: list[push.Push] = []
    ignored: list[Ignored] = []
    for item in pushes:
        if not _matches(item.repository, trigger.images):
            ignored.append(Ignored(item, f"{item.repository} matches none of images"))
        elif not _matches(item.tag, trigger.tags):
            ignored.append(Ignored(item, f"tag {item.tag!r} matches none of tags"))
        else:
            accepted.append(item)
    return Verdict(tuple(accepted), tuple(ignored))


def _matches(value: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, glob) for glob in globs)
