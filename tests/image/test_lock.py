"""The hashed locks in requirements/ (docs/dependencies.md) agree with pyproject.toml: every
declared dependency is pinned, inside its bounds, with hashes; the image and the test run
install nothing else. A failure here means: run scripts/lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _pins(lock: str) -> dict[str, str]:
    text = (REPO_ROOT / "requirements" / lock).read_text()
    # One entry per pin: "name==version \" followed by its --hash lines.
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins: dict[str, str] = {}
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    ("lock", "extras"), [("runtime.txt", ("postgres",)), ("test.txt", ("postgres", "test"))]
)
def test_every_declared_dependency_is_pinned_within_its_bounds(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = _pins(lock)
    for requirement in _declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, outside {requirement}"
        )
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert canonicalize_name(f"{name}-{extra}") in pins, f"{requirement}: {extra}"


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    for requirement in _declared("postgres"):
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), (
            f"{requirement} has no upper bound"
        )


def test_the_runtime_lock_is_part_of_the_test_lock_at_the_same_versions() -> None:
    runtime, test = _pins("runtime.txt"), _pins("test.txt")
    assert {name: test.get(name) for name in runtime} == runtime
    assert "pytest" not in runtime and "ruff" not in runtime


def test_the_build_lock_pins_what_pyproject_builds_with() -> None:
    build_system = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["build-system"]
    pins = _pins("build.txt")
    for line in build_system["requires"]:
        requirement = Requirement(line)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)])
