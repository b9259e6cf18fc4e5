"""`triggers[]`: registry webhooks that roll a pushed image out (docs/triggers.md).

Parsed from the YAML configuration by `config.parse`; the secret itself never appears in the
file, only the name of the environment variable that holds it (`secret_env`). The environment is
read once, at the edge, through `secrets()`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commands.values import checks, durations, errors, images

# A trigger's name is the last path segment of its URL (`POST /hooks/NAME`), so it stays within
# what needs no escaping in a URL; 63 characters like a DNS label, plenty for a name.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_KEYS = frozenset(
    {
        "name",
        "source",
        "secret_env",
        "images",
        "tags",
        "action",
        "approval",
        "channel",
        "namespaces",
        "registry",
        "coalesce_window",
        "rate_limit",
        "pin_digest",
    }
)
_REQUIRED = ("name", "source", "secret_env", "images", "channel")


class Source(enum.Enum):
    """Which registry sends the webhook: decides authentication and payload format."""

    GITHUB = "github"  # GitHub Packages (ghcr.io): X-Hub-Signature-256
    DOCKERHUB = "dockerhub"  # cannot sign: ?token= in the URL
    HARBOR = "harbor"  # Authorization header equals the secret
    DISTRIBUTION = "distribution"  # CNCF registry, GitLab, ACR: Authorization: Bearer
    QUAY = "quay"  # cannot sign: ?token= in the URL


class Action(enum.Enum):
    ORCHESTRATE = "orchestrate"  # roll the pushed digest out, verified (--wait)
    NOTIFY = "notify"  # post what would happen (dry run), change nothing


@dataclass(frozen=True)
class Trigger:
    """One `POST /hooks/NAME` endpoint."""

    name: str
    source: Source
    # Name of the environment variable that holds the webhook secret, never the secret.
    secret_env: str
    # Globs (fnmatch) on the normalized repository, e.g. `ghcr.io/acme/*` or
    # `docker.io/library/nginx`: the payload's repository is normalized before it is compared.
    images: tuple[str, ...]
    channel: str  # Slack channel id where each run is shown
    tags: tuple[str, ...] = ("*",)  # globs on the pushed tag
    action: Action = Action.ORCHESTRATE
    # True: post the Approve/Cancel plan first (approvers from slack.approvals).
    approval: bool = False
    namespaces: tuple[str, ...] = ()  # empty = the global scope; otherwise narrower than it
    # Registry host to use instead of the one the payload names (distribution: `request.host`
    # is the address the pusher used, which may differ from what the cluster pulls from).
    registry: str | None = None
    # Seconds. Ten: a multi-arch push (index plus one manifest per platform) sends its events
    # within a second or two; ten covers a slow pusher without delaying a rollout noticeably.
    coalesce_window_seconds: float = 10.0
    # Runs per hour, sliding window. Thirty: one every two minutes on average is more than any
    # sane release cadence for one trigger, and bounds the damage of a push loop.
    rate_limit_per_hour: int = 30
    # True: the run also pins the pushed digest into the workloads' spec (`--pin-digest`).
    # False by default: the pushed digest is always the run's expected digest (verified), but
    # rewriting the spec to `repo:tag@sha256:…` makes a GitOps tool see drift (docs/rollouts.md).
    pin_digest: bool = False


def parse(value: object, key: str) -> tuple[Trigger, ...]:
    """`triggers:` → Triggers; every error names its key (`triggers[1].source: ...`)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.ConfigError(f"{key}: expected a list of triggers")
    parsed: list[Trigger] = []
    for index, item in enumerate(value):
        trigger = _trigger(item, f"{key}[{index}]")
        if any(other.name == trigger.name for other in parsed):
            raise errors.ConfigError(
                f"{key}[{index}].name: duplicate trigger name {trigger.name!r}"
            )
        parsed.append(trigger)
    return tuple(parsed)


def secrets(triggers: tuple[Trigger, ...], environ: Mapping[str, str]) -> dict[str, str]:
    """Each trigger's secret by trigger name, read from `environ` (the edge passes os.environ).

    An unset or empty variable is a configuration error naming the trigger and the variable;
    the value is never part of any message.
    """
    found: dict[str, str] = {}
    for trigger in triggers:
        secret = environ.get(trigger.secret_env, "")
        if not secret.strip():
            raise errors.ConfigError(
                f"triggers[{trigger.name}].secret_env: environment variable "
                f"{trigger.secret_env} is unset or empty"
            )
        found[trigger.name] = secret
    return found


def _trigger(item: object, where: str) -> Trigger:
    item = checks.keys(item, where, _KEYS)
    for required in _REQUIRED:
        if required not in item:
            raise errors.ConfigError(f"{where}.{required}: required")
    name = _string(item["name"], f"{where}.name")
    if not _NAME.fullmatch(name):
        raise errors.ConfigError(
            f"{where}.name: {name!r} is not usable in a URL path (letters, digits, . _ -)"
        )
    secret_env = _string(item["secret_env"], f"{where}.secret_env")
    if not _ENV_NAME.fullmatch(secret_env):
        raise errors.ConfigError(
            f"{where}.secret_env: expected the name of an environment variable, "
            "not a value (letters, digits, _)"
        )
    fields: dict[str, Any] = {
        "name": name,
        "source": _enum(Source, item["source"], f"{where}.source"),
        "secret_env": secret_env,
        "images": _globs(item["images"], f"{where}.images"),
        "channel": _string(item["channel"], f"{where}.channel"),
    }
    if "tags" in item:
        fields["tags"] = _globs(item["tags"], f"{where}.tags")
    if "action" in item:
        fields["action"] = _enum(Action, item["action"], f"{where}.action")
    for flag in ("approval", "pin_digest"):
        if flag in item:
            fields[flag] = checks.boolean(item[flag], f"{where}.{flag}")
    if "namespaces" in item:
        fields["namespaces"] = _namespaces(item["namespaces"], f"{where}.namespaces")
    if item.get("registry") is not None:
        fields["registry"] = _registry(item["registry"], f"{where}.registry")
    if "coalesce_window" in item:
        fields["coalesce_window_seconds"] = durations.parse(
            item["coalesce_window"], key=f"{where}.coalesce_window"
        )
    if "rate_limit" in item:
        fields["rate_limit_per_hour"] = checks.positive_int(
            item["rate_limit"], f"{where}.rate_limit", "a positive number of runs per hour"
        )
    return Trigger(**fields)


def _string(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _globs(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise errors.ConfigError(f"{key}: expected a non-empty list of globs, got {value!r}")
    return tuple(_string(item, f"{key}[{index}]") for index, item in enumerate(value))


def _namespaces(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise errors.ConfigError(f"{key}: expected a list of namespaces, got {value!r}")
    names = []
    for index, item in enumerate(value):
        name = _string(item, f"{key}[{index}]")
        if not _K8S_NAME.fullmatch(name) or len(name) > 63:
            raise errors.ConfigError(f"{key}[{index}]: {name!r} is not a valid namespace name")
        names.append(name)
    return tuple(names)


def _registry(value: object, key: str) -> str:
    host = _string(value, key).lower()
    # A host is valid exactly when the reference grammar accepts it in front of a path.
    parsed = images.try_parse(f"{host}/x")
    if parsed is None or "/" in host or not parsed.repository.startswith(f"{host}/"):
        raise errors.ConfigError(f"{key}: {host!r} is not a registry host (like registry:5000)")
    return host


def _enum(kind: type[Source] | type[Action], value: object, key: str) -> Any:
    known = ", ".join(member.value for member in kind)
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    raise errors.ConfigError(f"{key}: unknown value {value!r} (known: {known})")
