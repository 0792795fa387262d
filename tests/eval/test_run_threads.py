"""A day runs with torch's thread pool at one thread, and the caller's setting comes back."""

from __future__ import annotations

import numpy as np
import torch

from scenario_fixtures import small_synthetic
from v1d3.dispatch.baselines import NearestDriver
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.rounds import CandidateBatch


class _Recorder(NearestDriver):
    """Nearest-driver dispatch that notes torch's thread count in every round."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[int] = set()

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        self._seen.add(torch.get_num_threads())
        return super().dispatch(batch)


def test_the_day_runs_on_one_torch_thread_and_restores_the_callers() -> None:
    cfg = RunConfig(scenario=small_synthetic(hours=0.5), seed=2)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        one, kept = _Recorder(), _Recorder()
        a = run_simulation(cfg, dispatch=one)
        assert one._seen == {1} and torch.get_num_threads() == 3
        b = run_simulation(cfg, dispatch=kept, torch_threads=None)
        assert kept._seen == {3}
        assert a.metrics["total_income"] == b.metrics["total_income"]  # results do not move
    finally:
        torch.set_num_threads(before)
