"""The checks a configuration value passes, shared by the configuration file
(commands/values/config.py) and the registry triggers in it (commands/values/triggers.py).

Each takes the value and its key (`restart.concurrency`, `triggers[0].images[2]`) and returns
the value as its type, or raises `ConfigError` naming the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from commands.values import errors

T = TypeVar("T")


def expected(key: str, what: str, value: object) -> errors.ConfigError:
    return errors.ConfigError(f"{key}: expected {what}, got {value!r}")


def keys(value: object, key: str, allowed: Collection[str]) -> Mapping[str, Any]:
    """A mapping whose keys are all in `allowed`."""
    if not isinstance(value, Mapping):
        raise errors.ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
    for name in value:
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise errors.ConfigError(f"{key}.{name}: unknown key (known keys: {known})")
    return value


def section(value: object, key: str, allowed: Collection[str]) -> Mapping[str, Any]:
    """An optional section: absent or empty (YAML null) is an empty mapping."""
    return {} if value is None else keys(value, key, allowed)


def of_type(kind: type[T], what: str) -> Callable[[object, str], T]:
    """The check that a value is a `kind` (`what`, as the error says it)."""

    def check(value: object, key: str) -> T:
        if not isinstance(value, kind):
            raise expected(key, what, value)
        return value

    return check


string = of_type(str, "a string")
boolean = of_type(bool, "true or false")


def strings(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise expected(key, "a list of strings", value)
    return tuple(string(item, f"{key}[{index}]") for index, item in enumerate(value))


def positive_int(value: object, key: str, what: str = "a positive integer") -> int:
    # bool is an int in Python, but `true` is no count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise expected(key, what, value)
    return value
