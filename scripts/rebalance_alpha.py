"""Available drivers against forecast departures: what ``min-cost-flow``'s alpha is set from.

    python scripts/rebalance_alpha.py [--scenario manhattan] [--orders N] [--seed 1000]

Simulates one whole day of ``distance/stay`` with every driver managed (a training seed, outside
every study) and, at each repositioning call, compares the available drivers (counted where they
will next be idle) with the departures the historical forecast expects over the next
``min-cost-flow`` period. Prints one JSON object: the mean drivers, the mean departures, the
ratio of the means and the median of the ratios (docs/method.md §11.1).
"""

from __future__ import annotations

import argparse

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.forecast import historical_forecast
from v1d3.dispatch.baselines import DistanceMatching
from v1d3.reposition.base import RepositionBatch
from v1d3.reposition.baselines import Stay
from v1d3.reposition.rebalance import MinCostFlowConfig
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.scenario import build_scenario
from v1d3.text_files import json_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="manhattan")
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1000)
    args = ap.parse_args()
    cfg = ScenarioConfig(name=args.scenario, orders=args.orders)
    mcf = MinCostFlowConfig()
    forecast = historical_forecast(cfg, mcf.forecast_days)
    rows: list[tuple[float, float]] = []

    class Count(Stay):
        def reposition(self, batch: RepositionBatch) -> np.ndarray:
            assert batch.supply_by_cell is not None
            ahead = forecast.departures(batch.t, batch.t + mcf.period_s).sum()
            rows.append((float(batch.supply_by_cell.sum()), float(ahead)))
            return super().reposition(batch)

    scenario = build_scenario(cfg, SimConfig(managed_share=1.0), args.seed)
    Simulator(scenario, args.seed).run(DistanceMatching(), Count())
    a = np.array(rows).reshape(-1, 2)
    ok = a[:, 1] > 0
    print(
        json_text(
            {
                "scenario": args.scenario,
                "seed": args.seed,
                "calls": int(len(a)),
                "mean_drivers": round(float(a[:, 0].mean()), 1) if len(a) else None,
                "mean_departures": round(float(a[:, 1].mean()), 1) if len(a) else None,
                "ratio_of_means": round(float(a[:, 0].mean() / a[:, 1].mean()), 4)
                if len(a)
                else None,
                "median_ratio": round(float(np.median(a[ok, 0] / a[ok, 1])), 4)
                if ok.any()
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
