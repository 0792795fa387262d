"""What a learned policy's day costs on a busy machine, with torch's thread pool and without.

One full Manhattan Wednesday (seed 11, outside every study) per case, each in a fresh process:
``distance`` (no torch), ``cvnet`` and ``v1d3`` (packaged models), each learned policy with
torch's default intra-op threads (one per core) and with one thread (what ``run_simulation``
uses), on a quiet machine and while a second process keeps one core busy. Prints one JSON
object: the simulation's wall seconds per case, and each learned policy's time over
``distance``'s under the same load.

    python bench/bench_busy.py                  # about 10 minutes on 2 cores
    python bench/bench_busy.py --hours 4 --start-hour 16
"""

from __future__ import annotations

import json
import multiprocessing as mp
import subprocess
import sys
import time

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

POLICIES = ("distance", "cvnet", "v1d3")


def run_case(policy: str, threads: int | None, start_hour: float, hours: float) -> dict:
    import torch

    from v1d3.demand.config import ScenarioConfig
    from v1d3.eval.config import RunConfig
    from v1d3.eval.run import run_simulation
    from v1d3.sim.scenario import build_scenario

    sc = ScenarioConfig(name="manhattan", weekday=2, start_hour=start_hour, hours=hours)
    cfg = RunConfig(scenario=sc, dispatch=policy, seed=11)
    scenario = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    t0 = time.perf_counter()
    res = run_simulation(cfg, scenario=scenario, check=False, torch_threads=threads)
    wall = time.perf_counter() - t0
    pool = torch.get_num_threads() if threads is None else threads
    return {"wall_s": round(wall, 2), "torch_threads": pool, "orders": res.metrics["orders"]}


def _spin(stop: mp.synchronize.Event) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _case(policy: str, threads: int | None, busy: bool, args: list[str]) -> dict:
    stop = mp.Event()
    burner = mp.Process(target=_spin, args=(stop,), daemon=True) if busy else None
    if burner is not None:
        burner.start()
    try:
        cmd = [sys.executable, __file__, "--one", policy, "--threads", str(threads or 0), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        stop.set()
        if burner is not None:
            burner.join()
    return json.loads(out.stdout)


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start-hour", type=float, default=0.0)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--one", choices=POLICIES, help=argparse_hidden())
    ap.add_argument("--threads", type=int, default=0, help=argparse_hidden())
    args = ap.parse_args()
    if args.one:
        threads = args.threads or None
        print(json_text(run_case(args.one, threads, args.start_hour, args.hours)))
        return
    window = ["--start-hour", str(args.start_hour), "--hours", str(args.hours)]
    cases: dict[str, dict] = {}
    for load in ("quiet", "busy"):
        for policy in POLICIES:
            for threads in (None,) if policy == "distance" else (None, 1):
                name = f"{load}:{policy}:{'default' if threads is None else 1}-thread"
                print(f"running {name} ...", file=sys.stderr, flush=True)
                cases[name] = _case(policy, threads, load == "busy", window)

    def over_distance(name: str) -> float:
        load = name.split(":")[0]
        return round(cases[name]["wall_s"] / cases[f"{load}:distance:default-thread"]["wall_s"], 2)

    day = {"weekday": 2, "seed": 11, "start_hour": args.start_hour, "hours": args.hours}
    ratios = {name: over_distance(name) for name in cases if ":distance:" not in name}
    print(json_text({"day": day, "cases": cases, "over_distance": ratios}, indent=2))


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
