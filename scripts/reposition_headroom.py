"""What repositioning could add at most: the idle time of managed drivers that stay.

Simulates the days of a repositioning study with the managed drivers staying (``stay``) and
measures, with :func:`v1d3.eval.metrics.reposition_headroom`, how much of their online time is
idle beyond the repositioning eligibility (``SimConfig.reposition_after_s``): time a
repositioning policy could act on. ``headroom`` is the rise in income per online hour of the
managed drivers if all of that time had been spent on trips earning what theirs earned;
``headroom_demand`` caps each hour's share of it by the work of the orders lost that hour
(the demand-limited ceiling). Prints
one JSON object: every day, the mean of each figure with its 95 % Student-t interval, and how
the actionable time falls over the hours of the day (pooled over the days).

The runs are the study's own (same configs, same seeds), so each day's
``income_per_online_hour_managed`` equals that of the study's ``DISPATCH/stay`` run.

    python scripts/reposition_headroom.py --weekdays 0-4 --seeds 3 --first-seed 1 \\
        --managed-share 0.1 --dispatch v1d3 [--fleet-scale 1.1]
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from v1d3.cli.evaluate import parse_int_list
from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import V1D3Error
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import reposition_headroom
from v1d3.eval.run import run_simulation
from v1d3.eval.study import StudyConfig
from v1d3.eval.summary import mean_ci
from v1d3.policies.models import packaged_models
from v1d3.sim.config import SimConfig
from v1d3.text_files import json_text

FIGURES = (
    "income_per_online_hour_managed",
    "idle_share",
    "actionable_share",
    "headroom",
    "headroom_demand",
)


def one_day(cfg: RunConfig) -> dict[str, Any]:
    res = run_simulation(cfg, check=False)
    h = reposition_headroom(res.log, cfg.sim.reposition_after_s)
    by_hour = h.pop("actionable_h_by_hour")
    return {
        "weekday": cfg.scenario.weekday,
        "seed": cfg.seed,
        "income_per_online_hour_managed": round(res.metrics["income_per_online_hour_managed"], 4),
        **{k: round(v, 5) for k, v in h.items()},
        "actionable_h_by_hour": [round(float(v), 3) for v in by_hour],
    }


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="manhattan")
    ap.add_argument("--weekdays", default="0-4", help="e.g. 0-4 or 1,3 (Monday = 0)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per weekday")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--managed-share", type=float, default=0.1)
    ap.add_argument(
        "--fleet-scale", type=float, default=1.0, help="multiplier of the calibrated fleet"
    )
    ap.add_argument("--dispatch", default="v1d3")
    ap.add_argument("--models", default=None, help="model folder (default: the packaged ones)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    try:
        models = args.models if args.models is not None else packaged_models()
        study = StudyConfig.grid(
            [args.dispatch],
            ["stay"],
            weekdays=parse_int_list(args.weekdays, "weekdays"),
            seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)),
            baseline=f"{args.dispatch}/stay",
            scenario=ScenarioConfig(name=args.scenario, fleet_scale=args.fleet_scale),
            sim=SimConfig(managed_share=args.managed_share),
            models=None if models is None else str(models),
        )
        with ProcessPoolExecutor(max(1, args.workers)) as pool:
            days = list(pool.map(one_day, study.runs()))
    except V1D3Error as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    out: dict[str, Any] = {
        "scenario": args.scenario,
        "dispatch": args.dispatch,
        "managed_share": args.managed_share,
        "fleet_scale": args.fleet_scale,
        "reposition_after_s": study.sim.reposition_after_s,
    }
    for k in FIGURES:
        m, lo, hi = mean_ci([d[k] for d in days])
        out[k] = {"mean": round(m, 5), "ci_low": round(lo, 5), "ci_high": round(hi, 5)}
    by_hour = np.sum([d["actionable_h_by_hour"] for d in days], axis=0)
    share = by_hour / max(by_hour.sum(), 1e-12)
    out["actionable_share_by_hour"] = [round(float(v), 4) for v in share]
    out["days"] = days
    print(json_text(out, indent=2))


if __name__ == "__main__":
    main()
