"""Speed of the critic-free dispatcher: rolling out and learning OSPO (rounds/s, pair scores/s),
on CPU and, where one is present, on CUDA.

Prints one JSON object. Run: ``.venv/bin/python bench/bench_ospo.py [--hours H]``.
One rollout of ``--hours`` of a Manhattan weekday morning (from 7:00, every window recorded) with
the packaged ``ospo`` model exploring, then one update (``PolicyTrainConfig`` defaults) on what
it recorded, timed on each device. The packaged model's own training time is read from its file
(``wall_s``, written by ``make models``). How long a whole ``ospo`` day takes against
``distance`` is measured by the study (``make quality PART=critic-free``, ``wall_s``).
"""

from __future__ import annotations

import dataclasses
import platform
import time

import numpy as np
import torch

from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.config import ScenarioConfig
from v1d3.ospo.config import PolicyTrainConfig
from v1d3.ospo.net import load_scorer
from v1d3.ospo.rollout import RolloutTask, concat_rollouts, rollout_day
from v1d3.ospo.train import update
from v1d3.policies.models import PACKAGED_MODELS
from v1d3.sim.config import SimConfig
from v1d3.text_files import json_text


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0, help="hours of the rollout")
    args = ap.parse_args()
    torch.set_num_threads(1)
    path = PACKAGED_MODELS / "ospo.pt"
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
    print(json_text(out, "bench_ospo", indent=2))


if __name__ == "__main__":
    main()
