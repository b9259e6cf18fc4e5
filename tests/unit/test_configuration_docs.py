"""docs/configuration.md lists every configuration key and environment variable, and nothing
the code no longer reads. The keys come from the parser itself (the known keys it names when
given an unknown one, at every level); the variables from recording what the bot's settings
parser reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import config as bot_config
from commands.values import config, errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
UNKNOWN = "zz_not_a_key"
# Levels of the file that hold further keys, as the doc writes them. A list's items are `[]`,
# a mapping keyed by the user's own names (commands) is `<command>`.
CONTAINERS = (
    "",
    "cache",
    "scope",
    "restart",
    "kube",
    "slack",
    "slack.access.<command>",
    "slack.approvals",
    "slack.approvals.approvers",
    "schedules[]",
    "state",
    "triggers[]",
)
# Read outside bot/config.py: MYCTL_LOG_LEVEL by bot/__main__.py, HOSTNAME by the scheduler's
# identity (bot/scheduling/scheduler.py); the CLI reads KUBECONFIG, MYCTL_CONFIG and
# MYCTL_STATE_URL too, which the bot's parser also reads.
READ_ELSEWHERE = {"MYCTL_LOG_LEVEL", "HOSTNAME"}


def _document(path: str) -> Any:
    """A configuration document with an unknown key at `path`."""
    leaf: Any = {UNKNOWN: 1}
    for part in reversed([p for p in path.split(".") if p]):
        if part.endswith("[]"):
            leaf = {part[:-2]: [leaf]}
        elif part == "<command>":
            leaf = {"deploy": leaf}
        else:
            leaf = {part: leaf}
    return leaf


def _known(path: str) -> set[str]:
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(_document(path))
    found = re.search(r"unknown key \(known keys: ([^)]*)\)", str(caught.value))
    assert found, f"{path or 'the root'}: {caught.value}"
    return {key.strip() for key in found.group(1).split(",")}


def _leaves() -> Iterator[str]:
    for container in CONTAINERS:
        for key in _known(container):
            path = f"{container}.{key}" if container else key
            inner = (path, f"{path}[]", f"{path}.<command>")
            if not any(c in inner for c in CONTAINERS) and path != "slack.access":
                yield path


def _table(heading: str) -> set[str]:
    section = DOC.read_text().split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))


class _Recording(dict[str, str]):
    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def test_every_configuration_key_is_documented_and_every_documented_key_exists() -> None:
    assert set(_leaves()) == _table("Every key of the configuration file")


def test_every_environment_variable_is_documented_and_every_documented_one_is_read() -> None:
    environ = _Recording({"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"})
    bot_config.from_environ(environ)
    bot_config.schedule_options(environ)
    bot_config.log_format(environ)

    assert environ.read | READ_ELSEWHERE == _table("Every environment variable")
