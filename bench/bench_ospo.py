"""Speed of the critic-free dispatcher: rolling out and learning OSPO (rounds/s, pair scores/s),
on CPU and, where one is present, on CUDA, and what an ``ospo`` day costs against ``distance``.

Prints one JSON object. Run: ``.venv/bin/python bench/bench_ospo.py [--hours H] [--days N]``.

- ``rollout``, ``update``: one rollout of ``--hours`` of a Manhattan weekday morning (from 7:00,
  every window recorded) with the packaged ``ospo`` model exploring, then one update
  (``PolicyTrainConfig`` defaults) on what it recorded, timed on each device.
- ``day_cost``: ``--days`` full Manhattan weekdays (seeds 900, 901, ...: no study, tuning run
  or model training uses them) simulated with ``distance``, then with each packaged scorer
  (and ``cvnet`` and ``v1d3`` beside them), one after another in this process, BLAS on one
  thread: each policy's wall seconds per day and its ratio to ``distance``'s (the issue's
  bound: ``ospo`` ≤ 1.5). Run it on an otherwise idle machine: a study's ``wall_s`` (two days
  at a time) is not a clean measure of it.
- The packaged model's own training time is read from its file (``wall_s``, written by
  ``make models``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import dataclasses  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from v1d3.cli.script_args import ArgumentParser  # noqa: E402
from v1d3.demand.config import ScenarioConfig  # noqa: E402
from v1d3.eval.config import RunConfig  # noqa: E402
from v1d3.eval.run import run_simulation  # noqa: E402
from v1d3.ospo.config import PolicyTrainConfig  # noqa: E402
from v1d3.ospo.net import load_scorer, model_file  # noqa: E402
from v1d3.ospo.rollout import RolloutTask, concat_rollouts, rollout_day  # noqa: E402
from v1d3.ospo.train import update  # noqa: E402
from v1d3.policies.models import PACKAGED_MODELS  # noqa: E402
from v1d3.sim.config import SimConfig  # noqa: E402
from v1d3.text_files import json_text  # noqa: E402

DAY_SEED = 900
"""First seed of the day-cost days (studies use 1 … 3 on each weekday, tuning 11 … 22, model
training 1000 … 1007 and 5000 … 5047)."""


def day_cost(days: int) -> dict[str, object]:
    """Wall seconds per full Manhattan day of each policy, and its ratio to ``distance``'s."""
    scorers = [m for m in ("ospo", "grpo") if (PACKAGED_MODELS / model_file(m)).is_file()]
    policies = ["distance", *scorers, "cvnet", "v1d3"]
    wall = dict.fromkeys(policies, 0.0)
    for i in range(days):
        sc = ScenarioConfig(name="manhattan", weekday=i % 5)
        for p in policies:
            tic = time.perf_counter()
            run_simulation(RunConfig(scenario=sc, dispatch=p, seed=DAY_SEED + i))
            wall[p] += time.perf_counter() - tic
    base = wall["distance"]
    return {
        "days": days,
        "seeds": [DAY_SEED + i for i in range(days)],
        "wall_s_per_day": {p: w / days for p, w in wall.items()},
        "ratio_to_distance": {p: w / base for p, w in wall.items() if p != "distance"},
    }


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0, help="hours of the rollout")
    ap.add_argument("--days", type=int, default=2, help="full days per policy for day_cost")
    args = ap.parse_args()
    torch.set_num_threads(1)
    path = PACKAGED_MODELS / model_file("ospo")
    net, meta = load_scorer(path, "ospo", "manhattan")
    sc = ScenarioConfig(name="manhattan", start_hour=7.0, hours=args.hours)
    cfg = PolicyTrainConfig(groups_per_day=10**6)  # record every window of the rollout
    tic = time.perf_counter()
    task = RolloutTask(sc, SimConfig(), 7, net.numpy_state(), net.cfg, cfg)
    data = concat_rollouts([rollout_day(task)])
    roll_s = time.perf_counter() - tic
    n_rounds = int(round(args.hours * 3600 / SimConfig().round_s))
    out: dict[str, object] = {
        "machine": platform.processor() or platform.machine(),
        "packaged_model_training_s": meta.get("wall_s"),
        "packaged_model_training_days": len(meta.get("days", [])),
        "rollout": {
            "hours": args.hours,
            "wall_s": roll_s,
            "rounds_per_s": n_rounds / roll_s,
            "pairs_recorded": int(data.x.shape[0]),
        },
        "update": {},
    }
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        device = torch.device(dev)
        trial = dataclasses.replace(cfg, device=dev)  # type: ignore[arg-type]
        model = load_scorer(path, "ospo", "manhattan")[0].to(device)
        opt = torch.optim.Adam(model.parameters(), lr=trial.policy_lr)
        update(model, opt, "ospo", data, trial, np.random.default_rng(0), device)  # warm-up
        stats = update(model, opt, "ospo", data, trial, np.random.default_rng(1), device)
        out["update"][dev] = {  # type: ignore[index]
            "seconds": stats.seconds,
            "rounds_per_s": stats.rounds / stats.seconds,
            "pair_scores_per_s": stats.pair_scores / stats.seconds,
            "device_name": torch.cuda.get_device_name(0) if dev == "cuda" else None,
        }
    if args.days > 0:
        out["day_cost"] = day_cost(args.days)
    print(json_text(out, "bench_ospo", indent=2))


if __name__ == "__main__":
    main()
