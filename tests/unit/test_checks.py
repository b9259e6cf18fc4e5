"""The configuration checks: each returns the value as its type or names the key it refuses."""

from __future__ import annotations

import pytest

from commands.values import checks, errors


def test_a_typed_check_returns_the_value_or_names_the_key() -> None:
    assert checks.string("x", "a.b") == "x"
    with pytest.raises(errors.ConfigError, match=r"^a\.b: expected a string, got 3$"):
        checks.string(3, "a.b")
    with pytest.raises(errors.ConfigError, match="expected true or false, got 'yes'"):
        checks.boolean("yes", "flag")


def test_true_is_no_positive_integer() -> None:
    assert checks.positive_int(2, "n") == 2
    for wrong in (True, 0, "2"):
        with pytest.raises(errors.ConfigError, match="expected a positive integer"):
            checks.positive_int(wrong, "n")


def test_an_absent_section_is_empty_but_a_present_one_has_known_keys_only() -> None:
    assert checks.section(None, "cache", {"name"}) == {}
    with pytest.raises(errors.ConfigError, match=r"cache\.nme: unknown key \(known keys: name\)"):
        checks.section({"nme": 1}, "cache", {"name"})
    with pytest.raises(errors.ConfigError, match="triggers: expected a mapping, got NoneType"):
        checks.keys(None, "triggers", {"name"})
