"""Plug in your own dispatch policy: subclass DispatchPolicy, return selected pair indices.

python examples/custom_policy.py
"""

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.matching import max_weight_matching
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.rounds import CandidateBatch


class FarePerMinute(DispatchPolicy):
    """Match to maximise fare per minute of driving (pickup + trip)."""

    name = "fare-per-minute"

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        minutes = (batch.pickup_s + batch.trip_s) / 60.0
        return max_weight_matching(batch.order, batch.driver, batch.fare / minutes)


if __name__ == "__main__":
    cfg = RunConfig(scenario=ScenarioConfig(name="synthetic", start_hour=7, hours=2), seed=1)
    result = run_simulation(cfg, dispatch=FarePerMinute())  # checked by the invariant checker
    print(
        {k: round(v, 3) for k, v in result.metrics.items() if k in ("total_income", "answer_rate")}
    )
