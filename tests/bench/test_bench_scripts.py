"""Every other benchmark script, run whole at tiny sizes as a user runs it (`python -m bench.X`).

Each starts and stops its own control plane, as documented in docs/benchmarks.md, so these need
the binaries (`scripts/kube-build`) but not the session's control plane. Figures are never
asserted (docs/benchmarks.md has the real runs): only that the script finishes and prints the
table the documentation pastes.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.kube


def _run(module: str, args: Sequence[str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_restart_benchmark_runs_with_four_targets() -> None:
    out = _run("bench.restart_200", ["--targets", "4", "--runs", "1", "--sample", "1"])
    assert "**ratio (baseline loop / `myctl restart`), medians**" in out


def test_ack_load_benchmark_runs_a_small_burst_beside_the_bare_app() -> None:
    out = _run(
        "bench.ack_load",
        ["--commands", "6", "--long-runs", "2", "--workloads", "10", "--rounds", "1"],
    )
    assert "bot vs bare bolt app" in out and "| **all 1** |" in out


def test_slack_ack_benchmark_runs_one_small_round() -> None:
    out = _run(
        "bench.slack_ack", ["--rounds", "1", "--commands", "4", "--long-runs", "1", "--sizes", "1"]
    )
    assert "chat.postMessage" in out


def test_scale_10k_benchmark_runs_at_a_tiny_size() -> None:
    # 124 workloads: the smallest size that holds the image the script selects (app 123).
    out = _run("bench.scale_10k", ["--workloads", "124", "--runs", "2"])
    assert "ratio" in out


def test_cli_startup_benchmark_runs() -> None:
    out = _run("bench.cli_startup", ["--runs", "2"])
    assert "`myctl version`" in out
