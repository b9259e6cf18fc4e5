"""Typed access to decoded JSON: a wrong type or a missing field is `InvalidPayload` naming it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.hooks import push
from commands.values import errors, images

# Nesting deeper than this is no registry's payload; refusing it early keeps a hostile body
# from reaching Python's recursion limit anywhere after decoding.
MAX_DEPTH = 64


def load(body: bytes) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise push.InvalidPayload("body is not UTF-8") from exc
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise push.InvalidPayload("body nests too deeply") from exc
    except json.JSONDecodeError as exc:
        raise push.InvalidPayload(f"body is not JSON: {exc.msg} at {exc.pos}") from exc
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise push.InvalidPayload("body is not JSON this bot can read") from exc
    _check_depth(document)
    return document


def _check_depth(document: object) -> None:
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise push.InvalidPayload("body nests too deeply")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise push.InvalidPayload(f"{path}: expected an object, got {_kind(value)}")
    return value


def child(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    return mapping(parent.get(key), _join(path, key))


def items(parent: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise push.InvalidPayload(f"{_join(path, key)}: expected an array, got {_kind(value)}")
    return value


def string(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = optional_string(parent, key, path)
    if not value:
        raise push.InvalidPayload(f"{_join(path, key)}: expected a non-empty string")
    return value


def optional_string(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    """The string at `key`; None when absent, null or empty; InvalidPayload when not a string."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise push.InvalidPayload(f"{_join(path, key)}: expected a string, got {_kind(value)}")
    return value.strip() or None


def make_push(
    host: str, path: str, tag: str, digest: str | None, event_id: str | None, where: str
) -> push.Push:
    """A normalized Push for `host/path:tag[@digest]`; InvalidPayload when it is no reference."""
    if not looks_like_host(host):
        raise push.InvalidPayload(f"{where}: {host!r} is not a registry host")
    name = f"{host}/{path.strip('/')}"
    try:
        ref = images.parse(f"{name}:{tag}")
        if digest is not None:
            images.parse(f"{name}@{digest}")
    except errors.UsageError as exc:
        raise push.InvalidPayload(f"{where}: {exc}") from exc
    assert ref.tag is not None  # a tag and no digest: parse keeps the tag
    return push.Push(
        repository=ref.repository,
        tag=ref.tag,
        digest=digest.lower() if digest else None,
        event_id=event_id,
    )


def looks_like_host(host: str) -> bool:
    """Whether a reference starting `host/` names that registry (the runtimes' rule).

    `registry/app` means `docker.io/registry/app` to every container runtime, so a bare word
    without a dot or a port is no usable host (docs/triggers.md: set the trigger's registry).
    """
    return bool(host) and ("." in host or ":" in host or host == "localhost" or host[0] == "[")


def split_host(reference: str, where: str) -> tuple[str, str]:
    """`hub.example.com/team/app:1@sha256:…` → (`hub.example.com`, `team/app`)."""
    host, sep, rest = reference.partition("/")
    if not sep or not rest:
        raise push.InvalidPayload(f"{where}: {reference!r} names no repository")
    rest = rest.split("@", 1)[0]
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest = rest[:colon]
    return host.lower(), rest


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
