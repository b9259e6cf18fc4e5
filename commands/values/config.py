"""The YAML configuration file -> `Settings`. Unknown keys and bad values name the key (exit 2)."""

from __future__ import annotations

import re
import threading
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from commands.values import checks, durations, errors, settings, workloads
from commands.values import triggers as trigger_values

REPORT_KINDS = ("cache", "images", "rollouts", "activity")
# Parsed files kept by load_file: a process reads one or two (tests read many, hence a bound).
_PARSED_FILES = 16
_parsed: dict[str, tuple[str, settings.Settings]] = {}
_parsed_lock = threading.Lock()
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def load(path: str | Path | None) -> settings.Settings:
    """The configuration file at `path`, or the defaults when there is none."""
    return load_file(path) if path else settings.Settings()


def load_file(path: str | Path) -> settings.Settings:
    """Read and parse the file at `path`. The only I/O in the values layer.

    A long-lived process (the bot) reads its file for every command, so that an edit applies
    at once; the settings parsed from a file's text are kept, so an unchanged file costs a
    read, not a YAML parse (docs/benchmarks.md §D)."""
    import yaml  # lazy: keeps `myctl --help` fast

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    with _parsed_lock:
        kept = _parsed.get(str(path))
    if kept is not None and kept[0] == text:
        return kept[1]
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise errors.ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    loaded = parse(document or {})
    with _parsed_lock:
        if len(_parsed) >= _PARSED_FILES:
            _parsed.clear()
        _parsed[str(path)] = (text, loaded)
    return loaded


def parse(document: object) -> settings.Settings:
    root = checks.section(document, "configuration", set(_SECTIONS))
    values: dict[str, Any] = {}
    for key, parser in _SECTIONS.items():
        if key in root:
            values[key] = parser(root[key], key)
    return settings.Settings(**values)


def namespace_name(value: object, key: str) -> str:
    name = checks.string(value, key)
    if not _K8S_NAME.fullmatch(name) or len(name) > 253:
        raise errors.ConfigError(f"{key}: {name!r} is not a valid Kubernetes name")
    return name


def _fields(
    value: object, key: str, parsers: Mapping[str, Callable[[object, str], Any]]
) -> dict[str, Any]:
    section = checks.section(value, key, set(parsers))
    return {name: parsers[name](section[name], f"{key}.{name}") for name in section}


def _cache(value: object, key: str) -> settings.CacheSettings:
    fields = _fields(
        value,
        key,
        {
            "namespace": namespace_name,
            "name": namespace_name,
            "max_age": lambda v, k: durations.parse(v, key=k),
            "shard_bytes": _shard_bytes,
            "max_shards": _max_shards,
        },
    )
    if "max_age" in fields:
        fields["max_age_seconds"] = fields.pop("max_age")
    return settings.CacheSettings(**fields)


# A shard must hold at least one image's entries plus its header; below 1 KiB every
# non-trivial cache would need more shards than any Role lists.
MIN_SHARD_BYTES = 1024
# The largest max_shards accepted: the Role lists every name, and a list of hundreds is a
# sign the scope should be narrowed instead.
MAX_MAX_SHARDS = 256


def _shard_bytes(value: object, key: str) -> int:
    limit = settings.SHARD_BYTES_LIMIT
    number = checks.positive_int(value, key)
    if not MIN_SHARD_BYTES <= number <= limit:
        raise errors.ConfigError(
            f"{key}: expected {MIN_SHARD_BYTES} to {limit} bytes (the ConfigMap limit), "
            f"got {number}"
        )
    return number


def _max_shards(value: object, key: str) -> int:
    number = checks.positive_int(value, key)
    if not 2 <= number <= MAX_MAX_SHARDS:
        raise errors.ConfigError(f"{key}: expected 2 to {MAX_MAX_SHARDS}, got {number}")
    return number


def kinds(value: object, key: str) -> tuple[workloads.Kind, ...]:
    parsed = []
    for index, item in enumerate(checks.strings(value, key)):
        try:
            parsed.append(workloads.parse_kind(item))
        except errors.UsageError as exc:
            raise errors.ConfigError(f"{key}[{index}]: {exc}") from exc
    if not parsed:
        raise errors.ConfigError(f"{key}: at least one kind is needed")
    return tuple(dict.fromkeys(parsed))


def _scope(value: object, key: str) -> settings.Scope:
    fields = _fields(
        value,
        key,
        {
            "namespaces": lambda v, k: tuple(
                namespace_name(item, f"{k}[{i}]") for i, item in enumerate(checks.strings(v, k))
            ),
            "exclude_namespaces": checks.strings,
            "selector": checks.string,
            "kinds": kinds,
        },
    )
    return settings.Scope(**fields)


def _restart(value: object, key: str) -> settings.RestartSettings:
    fields = _fields(
        value,
        key,
        {
            "concurrency": checks.positive_int,
            "max_targets": checks.positive_int,
            "wait_timeout": lambda v, k: durations.parse(v, key=k),
        },
    )
    if "wait_timeout" in fields:
        fields["wait_timeout_seconds"] = fields.pop("wait_timeout")
    return settings.RestartSettings(**fields)


def _kube(value: object, key: str) -> settings.KubeSettings:
    fields = _fields(
        value,
        key,
        {
            "connect_timeout": lambda v, k: durations.parse(v, key=k),
            "read_timeout": lambda v, k: durations.parse(v, key=k),
        },
    )
    return settings.KubeSettings(**{f"{name}_seconds": v for name, v in fields.items()})


def _access_rule(value: object, key: str) -> settings.AccessRule:
    return settings.AccessRule(
        **_fields(
            value,
            key,
            {"users": checks.strings, "usergroups": checks.strings, "channels": checks.strings},
        )
    )


def _approvals(value: object, key: str) -> settings.ApprovalSettings:
    section = checks.section(
        value,
        key,
        {"commands", "approvers", "required", "allow_self_approval", "expiry", "canary"},
    )
    fields: dict[str, Any] = {}
    if "commands" in section:
        fields["commands"] = checks.strings(section["commands"], f"{key}.commands")
    if "approvers" in section:
        rule = _fields(
            section["approvers"],
            f"{key}.approvers",
            {"users": checks.strings, "usergroups": checks.strings},
        )
        fields["approver_users"] = rule.get("users", ())
        fields["approver_usergroups"] = rule.get("usergroups", ())
    if "required" in section:
        fields["required"] = checks.positive_int(section["required"], f"{key}.required")
    if "allow_self_approval" in section:
        fields["allow_self_approval"] = checks.boolean(
            section["allow_self_approval"], f"{key}.allow_self_approval"
        )
    if "expiry" in section:
        fields["expiry_seconds"] = durations.parse(section["expiry"], key=f"{key}.expiry")
    if "canary" in section:
        fields["canary"] = checks.boolean(section["canary"], f"{key}.canary")
    return settings.ApprovalSettings(**fields)


def _slack(value: object, key: str) -> settings.SlackSettings:
    section = checks.section(value, key, {"access", "approvals"})
    access: list[tuple[str, settings.AccessRule]] = []
    raw_access = section.get("access") or {}
    if not isinstance(raw_access, Mapping):
        raise errors.ConfigError(f"{key}.access: expected a mapping of command to rule")
    for command, rule in raw_access.items():
        access.append((str(command), _access_rule(rule, f"{key}.access.{command}")))
    approvals = (
        _approvals(section["approvals"], f"{key}.approvals")
        if "approvals" in section
        else settings.ApprovalSettings()
    )
    return settings.SlackSettings(access=tuple(access), approvals=approvals)


def _schedules(value: object, key: str) -> tuple[settings.Schedule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.ConfigError(f"{key}: expected a list of schedules")
    parsed: list[settings.Schedule] = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        section = checks.section(item, where, {"name", "cron", "timezone", "channel", "reports"})
        for required in ("name", "cron", "timezone", "channel"):
            if required not in section:
                raise errors.ConfigError(f"{where}.{required}: required")
        name = checks.string(section["name"], f"{where}.name")
        where = f"{key}[{name}]"
        cron = checks.string(section["cron"], f"{where}.cron")
        if len(cron.split()) != 5:
            raise errors.ConfigError(f"{where}.cron: expected 5 fields, got {cron!r}")
        timezone = checks.string(section["timezone"], f"{where}.timezone")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise errors.ConfigError(f"{where}.timezone: unknown time zone {timezone!r}") from exc
        reports = checks.strings(section.get("reports", list(REPORT_KINDS)), f"{where}.reports")
        for report in reports:
            if report not in REPORT_KINDS:
                raise errors.ConfigError(
                    f"{where}.reports: unknown report {report!r} (known: {', '.join(REPORT_KINDS)})"
                )
        if any(schedule.name == name for schedule in parsed):
            raise errors.ConfigError(f"{where}.name: duplicate schedule name")
        parsed.append(
            settings.Schedule(
                name=name,
                cron=cron,
                timezone=timezone,
                channel=checks.string(section["channel"], f"{where}.channel"),
                reports=reports,
            )
        )
    return tuple(parsed)


def _state(value: object, key: str) -> settings.StateSettings:
    return settings.StateSettings(**_fields(value, key, {"url": checks.string}))


_SECTIONS: dict[str, Callable[[object, str], Any]] = {
    "cache": _cache,
    "scope": _scope,
    "restart": _restart,
    "kube": _kube,
    "slack": _slack,
    "schedules": _schedules,
    "state": _state,
    "triggers": trigger_values.parse,
}
