"""The evaluation harness: speed-up on 2 workers and overhead against direct runs. One JSON object.

Eight full-day ``manhattan`` simulations (``distance/stay``, default fleet, weekday 2, seeds
0..7) are run three ways:

- ``direct``: :func:`v1d3.eval.run.run_simulation` one after another in this process;
- ``workers_1``: :func:`v1d3.eval.evaluate.evaluate` with the local backend and 1 worker
  (records, results.parquet, summary.csv and report.html included);
- ``workers_2``: the same with 2 workers.

``speedup_2_vs_1 = workers_1_s / workers_2_s`` (target ≥ 1.8) and
``harness_overhead = workers_1_s / direct_s - 1`` (target < 0.05). BLAS threads are pinned to
one per process so that the workers, not the libraries, use the cores. The figures only mean
something on a machine with at least 2 otherwise idle cores.

    python bench/bench_evaluate.py                 # the figures (about 8 × 3 full days)
    python bench/bench_evaluate.py --hours 2       # a quick check of the script
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from v1d3.cli.script_args import ArgumentParser  # noqa: E402
from v1d3.text_files import json_text  # noqa: E402


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8, help="simulations (seeds 0..runs-1)")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours per run")
    ap.add_argument("--scenario", default="manhattan")
    args = ap.parse_args()

    from v1d3.demand.config import ScenarioConfig
    from v1d3.eval.evaluate import evaluate
    from v1d3.eval.run import run_simulation
    from v1d3.eval.study import StudyConfig

    study = StudyConfig(
        policies=("distance/stay",),
        weekdays=(2,),
        seeds=tuple(range(args.runs)),
        scenario=ScenarioConfig(name=args.scenario, hours=args.hours),
    )

    t0 = time.perf_counter()
    orders = 0
    for cfg in study.runs():
        orders += int(run_simulation(cfg).metrics["orders"])
    direct = time.perf_counter() - t0

    wall = {}
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        for workers in (1, 2):
            t0 = time.perf_counter()
            ev = evaluate(study, Path(tmp) / f"w{workers}", workers=workers)
            wall[workers] = time.perf_counter() - t0
            if ev.failures:
                raise SystemExit(f"bench: {len(ev.failures)} run(s) failed: {ev.failures[0]}")

    speedup = wall[1] / wall[2]
    overhead = wall[1] / direct - 1.0
    print(
        json_text(
            {
                "scenario": args.scenario,
                "policy": "distance/stay",
                "runs": args.runs,
                "hours": args.hours,
                "orders_total": orders,
                "cpu_count": os.cpu_count(),
                "direct_s": round(direct, 2),
                "workers_1_s": round(wall[1], 2),
                "workers_2_s": round(wall[2], 2),
                "speedup_2_vs_1": round(speedup, 3),
                "speedup_target": 1.8,
                "harness_overhead": round(overhead, 4),
                "overhead_target": 0.05,
                "meets_speedup": speedup >= 1.8,
                "meets_overhead": overhead < 0.05,
            }
        )
    )


if __name__ == "__main__":
    main()
