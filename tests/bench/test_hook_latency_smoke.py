"""bench/hook_latency.py still measures: two pushes on the session's control plane."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import hook_latency
from tests.support import controlplane as cp
from tests.support import fake_kubelet

pytestmark = pytest.mark.kube


def test_two_pushes_each_reach_a_restart_patch_within_the_p95_target(
    control_plane: cp.ControlPlane, fake_kubelet: fake_kubelet.FakeKubelet, tmp_path: Path
) -> None:
    samples = hook_latency.measure(control_plane, 2, tmp_path)
    assert len(samples) == 2
    # A smoke run on a shared machine: the p95 target (docs/benchmarks.md) bounds it, not the p50.
    assert all(0 < s <= 5.0 for s in samples), samples
