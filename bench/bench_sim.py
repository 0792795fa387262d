"""Simulator speed on a full Manhattan weekday at real volume. Prints one JSON object.

Each case runs in a fresh process (one core: BLAS threads pinned to 1) so that its peak memory
is its own. Cases: 3,600 and 8,000 drivers, ``distance`` dispatch, ``stay`` repositioning,
everything switched on (cancellations, idle drift, shifts, logging, the invariant checker is
not part of the timed loop). ``all-online`` keeps every driver online all day like the reference
loop; ``shifts`` uses the default shift model with the same fleet size.

    python bench/bench_sim.py            # all cases
    python bench/bench_sim.py --case 3600:all-online --repeat 5

Each case runs ``--repeat`` times (default 3); the figures reported are those of the fastest
repetition, the usual estimate of what the code costs when the machine is not disturbed by
other work (on a shared virtual machine single runs vary by ±20 %), and every repetition's
simulation time is listed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

CASES = ["3600:all-online", "8000:all-online", "3600:shifts", "default:shifts"]


def run_case(case: str, seed: int) -> dict:
    from v1d3.demand.config import ScenarioConfig
    from v1d3.dispatch.baselines import DistanceMatching
    from v1d3.reposition.baselines import Stay
    from v1d3.sim.config import SimConfig
    from v1d3.sim.engine import Simulator
    from v1d3.sim.scenario import build_scenario

    drivers, mode = case.split(":")
    sim = SimConfig(shift_mean_h=0.0) if mode == "all-online" else SimConfig()
    sc_cfg = ScenarioConfig(
        name="manhattan", weekday=2, drivers=None if drivers == "default" else int(drivers)
    )
    t0 = time.perf_counter()
    scenario = build_scenario(sc_cfg, sim, seed)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    log = Simulator(scenario, seed).run(DistanceMatching(), Stay())
    sim_s = time.perf_counter() - t0
    from v1d3.eval.metrics import compute_metrics

    m = compute_metrics(log)
    return {
        "case": case,
        "orders": m["orders"],
        "drivers": len(scenario.fleet),
        "answer_rate": round(m["answer_rate"], 4),
        "scenario_build_s": round(build_s, 2),
        "simulation_wall_s": round(sim_s, 2),
        "total_wall_s": round(build_s + sim_s, 2),
        "orders_per_s": round(m["orders"] / sim_s),
        "dispatch_round_ms_p50": round(m["dispatch_round_ms_p50"], 3),
        "dispatch_round_ms_p99": round(m["dispatch_round_ms_p99"], 3),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help=f"one of {CASES}")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest is reported")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        print(json_text(run_case(args.case[0], args.seed)))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = []
    for case in args.case or CASES:
        runs = []
        for _ in range(max(1, args.repeat)):
            out = subprocess.run(
                [sys.executable, __file__, "--inner", "--case", case, "--seed", str(args.seed)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["total_wall_s"])
        best["simulation_wall_s_all"] = [r["simulation_wall_s"] for r in runs]
        results.append(best)
    print(
        json_text(
            {
                "benchmark": "simulator",
                "scenario": "manhattan weekday 2 (Wednesday), real volume, distance/stay",
                "targets": {
                    "3600_wall_s": 15,
                    "8000_wall_s": 30,
                    "round_ms_p99": 5,
                    "peak_memory_mb": 2048,
                },
                "cpu_count": os.cpu_count(),
                "load_average": os.getloadavg()[0],
                "cases": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
