"""Smoke runs of the benchmarks at tiny sizes, so the scripts keep working (figures unchecked:
timings are never asserted in tests; docs/benchmarks.md has the real runs)."""

from __future__ import annotations

import pytest

from bench import scale
from tests.support import controlplane as cp

pytestmark = pytest.mark.kube


def test_scale_benchmark_runs_at_tiny_sizes(control_plane: cp.ControlPlane) -> None:
    rows, cli_rows = scale.run(control_plane, sizes=[20], cli_sizes=[20], runs=2)
    assert [row[0] for row in rows] == ["20"] and [row[0] for row in cli_rows] == ["20"]
    assert rows[0][4] == "1 (unsharded)"
