"""docs/architecture.md names modules: each one it names exists (a rename cannot leave it stale)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"`((?:bot|commands)/[\w/]+\.py)")


def test_every_module_the_architecture_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(NAMED.findall(text))
    assert len(named) > 40  # the pattern still finds them
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []
