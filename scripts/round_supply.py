"""How tight supply is in each dispatch round: the candidate drivers per order a policy sees.

Runs one day with a dispatch policy and counts, in every round, the distinct drivers and the
distinct orders among the round's candidate pairs: what the supply-following rule of value
dispatch compares with ``slack_drivers_per_order`` (docs/method.md §3). The rule counts them
after the policy's own ``top_k`` filter, so the two agree while ``top_k`` is at least the
simulator's ``k_nearest`` (both 11 by default). Prints one JSON object:
the day's income and answer rate, the mean orders and drivers per round, percentiles of the
ratio drivers / orders, the share of rounds and of candidate orders in rounds at or above each
``--at`` threshold, and the median ratio of each hour.

    python scripts/round_supply.py --weekday 0 --seed 601 --fleet-scale 1.5 --dispatch v1d3
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import V1D3Error
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.policies import make_dispatch
from v1d3.policies.models import packaged_models
from v1d3.policy_spec import parse_name
from v1d3.rounds import CandidateBatch
from v1d3.text_files import json_text

PERCENTILES = (10, 25, 50, 75, 90)


def supply_figures(t: np.ndarray, orders: np.ndarray, drivers: np.ndarray, at: list[float]) -> dict:
    """The figures of the rounds at clocks ``t`` (s) with these candidate order and driver
    counts (rounds without candidates are not dispatched, so never counted)."""
    ratio = drivers / orders
    hour = (t // 3600).astype(np.int64)
    pct = np.percentile(ratio, PERCENTILES).round(3).tolist()
    return {
        "rounds": int(t.size),
        "mean_orders": round(float(orders.mean()), 2),
        "mean_drivers": round(float(drivers.mean()), 2),
        "ratio_percentiles": {str(p): v for p, v in zip(PERCENTILES, pct, strict=True)},
        "at_or_above": {
            f"{a:g}": {"rounds": round(float((ratio >= a).mean()), 4),
                       "orders": round(float(orders[ratio >= a].sum() / orders.sum()), 4)}
            for a in at
        },
        "hourly_median_ratio": [
            round(float(np.median(ratio[hour == h])), 3) if (hour == h).any() else None
            for h in range(int(hour.max()) + 1)
        ],
    }  # fmt: skip


def one_day(cfg: RunConfig, at: list[float]) -> dict[str, Any]:
    models = Path(cfg.models) if cfg.models else None
    policy = make_dispatch(cfg.dispatch, models, cfg.scenario, **cfg.dispatch_params)
    seen: list[tuple[float, int, int]] = []
    decide = policy.dispatch

    def counted(batch: CandidateBatch) -> np.ndarray:
        seen.append((batch.t, np.unique(batch.order).size, np.unique(batch.driver).size))
        return decide(batch)

    policy.dispatch = counted  # type: ignore[method-assign]
    res = run_simulation(cfg, dispatch=policy)
    if not seen:
        raise V1D3Error("the day had no dispatch round with candidates")
    t, orders, drivers = (np.array(c, dtype=np.float64) for c in zip(*seen, strict=True))
    return {
        "total_income": round(res.metrics["total_income"], 2),
        "answer_rate": round(res.metrics["answer_rate"], 4),
        **supply_figures(t, orders, drivers, at),
    }


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="manhattan")
    ap.add_argument("--weekday", type=int, default=2, help="Monday = 0")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fleet-scale", type=float, default=1.0, help="multiplier of the fleet")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours from midnight")
    ap.add_argument("--dispatch", default="v1d3", help="a dispatch policy, e.g. 'v1d3[top_k=5]'")
    ap.add_argument("--models", default=None, help="model folder (default: the packaged ones)")
    ap.add_argument("--at", default="0.5,1,2,4", help="drivers-per-order thresholds, e.g. 1,2")
    args = ap.parse_args()
    try:
        at = [float(a) for a in args.at.split(",")]
    except ValueError:
        print(f"error: at: expected numbers like 1,2, got {args.at!r}", file=sys.stderr)
        sys.exit(2)
    try:
        name, params = parse_name(args.dispatch)
        models = args.models if args.models is not None else packaged_models()
        cfg = RunConfig(
            scenario=ScenarioConfig(name=args.scenario, weekday=args.weekday,
                                    fleet_scale=args.fleet_scale, hours=args.hours),
            dispatch=name, dispatch_params=params, seed=args.seed,
            models=None if models is None else str(models),
        )  # fmt: skip
        out = one_day(cfg, at)
    except V1D3Error as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json_text({"scenario": args.scenario, "weekday": args.weekday, "seed": args.seed,
                     "fleet_scale": args.fleet_scale, "dispatch": args.dispatch, **out},
                    indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
