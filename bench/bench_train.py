"""Speed of learning V: offline CVNet training (transitions per second on one CPU core, and on
CUDA when available) and V1D3's per-round online update (milliseconds at 4,000 drivers).

Prints one JSON object. Run: ``.venv/bin/python bench/bench_train.py [--transitions N]``.
The data are random transitions on the ``manhattan`` city (the speed does not depend on what
the transitions say); the net is the default :class:`~v1d3.value.cvnet.CVNetConfig`.
"""

from __future__ import annotations

import dataclasses
import platform
import time

import numpy as np
import torch

from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import Orders
from v1d3.geo.city import City
from v1d3.learn.config import OfflineTrainConfig
from v1d3.learn.online_neural import ResidualOnline
from v1d3.learn.train_neural import train_cvnet
from v1d3.learn.transitions import Transitions
from v1d3.policies.neural import make_v1d3
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.text_files import json_text
from v1d3.value.cvnet import CVNetConfig
from v1d3.value.online import ResidualValue


def random_transitions(city: City, n: int, rng: np.random.Generator) -> Transitions:
    """``n`` transitions between random cells at random times, half of them trips."""
    t0 = rng.uniform(0.0, 86_000.0, n)
    dur = rng.uniform(60.0, 1800.0, n)
    trip = rng.random(n) < 0.5
    c0 = rng.integers(0, city.n_cells, n)
    c1 = np.where(trip, rng.integers(0, city.n_cells, n), c0)
    return Transitions(
        cell0=c0,
        lat0=city.cell_lat[c0],
        lng0=city.cell_lng[c0],
        t0_s=t0,
        reward=np.where(trip, rng.uniform(5.0, 40.0, n), 0.0),
        cell1=c1,
        lat1=city.cell_lat[c1],
        lng1=city.cell_lng[c1],
        t1_s=t0 + dur,
        weekday=rng.integers(0, 5, n),
        terminal=t0 + dur >= 86_400.0,
    )


def bench_offline(
    city: City, train: Transitions, held: Transitions, device: str, batch_size: int
) -> dict[str, float | str]:
    cfg = OfflineTrainConfig(epochs=3, batch_size=batch_size, patience=0, device=device)
    _, history = train_cvnet(train, held, city, cfg, CVNetConfig())
    rates = [h["transitions_per_s"] for h in history[1:]]  # the first epoch warms up
    return {
        "device": device,
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "transitions": len(train),
        "transitions_per_s": float(np.median(rates)),
    }


def _round(city: City, n_drivers: int, n_served: int, t: float, rng) -> RoundOutcome:
    """A round with ``n_drivers`` available drivers of which ``n_served`` start trips."""
    cell = rng.integers(0, city.n_cells, n_drivers)
    dest = rng.integers(0, city.n_cells, n_served)
    trip_s = rng.uniform(300.0, 1800.0, n_served)
    orders = Orders(
        t_request=np.full(n_served, t),
        o_lat=city.cell_lat[cell[:n_served]],
        o_lng=city.cell_lng[cell[:n_served]],
        d_lat=city.cell_lat[dest],
        d_lng=city.cell_lng[dest],
        trip_s=trip_s,
        trip_m=trip_s * 5.0,
        fare=rng.uniform(5.0, 40.0, n_served),
        o_zone=np.full(n_served, -1),
        d_zone=np.full(n_served, -1),
        source_id=np.arange(n_served),
    )
    batch = CandidateBatch(
        t,
        2,
        driver=np.arange(n_served),
        order=np.arange(n_served),
        pickup_m=rng.uniform(0.0, 2000.0, n_served),
        pickup_s=rng.uniform(0.0, 400.0, n_served),
        driver_lat=city.cell_lat[cell[:n_served]],
        driver_lng=city.cell_lng[cell[:n_served]],
        driver_cell=cell[:n_served],
        orders=orders,
        order_o_cell=cell[:n_served],
        order_d_cell=dest,
    )
    idle = cell[n_served:]
    return RoundOutcome(
        batch,
        np.arange(n_served),
        rng.random(n_served) < 0.05,
        np.arange(n_served, n_drivers),
        idle,
        city.cell_lat[idle],
        city.cell_lng[idle],
    )


def bench_online(city: City, n_drivers: int = 4000, rounds: int = 2000) -> dict[str, float]:
    # the `v1d3` policy's own online value and learner (packaged offline CVNet, its defaults)
    policy = make_v1d3()
    value, learner = policy.value, policy.learner
    assert isinstance(value, ResidualValue) and isinstance(learner, ResidualOnline)
    value.bind(city, 2)
    learner.reset(DayContext(city, 2, 0.0, 86_400.0, SimConfig(), np.random.default_rng(0)))
    rng = np.random.default_rng(1)
    outcomes = [_round(city, n_drivers, 150, 28_800.0 + 2.0 * r, rng) for r in range(rounds)]
    for o in outcomes:
        _ = o.batch.fare, o.batch.trip_s, o.batch.dest_cell, o.batch.dest_lat, o.batch.dest_lng
    ms = []
    for o in outcomes:
        tic = time.perf_counter()
        learner.update(o, value)
        ms.append((time.perf_counter() - tic) * 1000.0)
    ms = ms[50:]  # warm-up
    return {
        "drivers": n_drivers,
        "served_per_round": 150,
        "rounds": rounds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> None:
    ap = ArgumentParser(description=__doc__)
    ap.add_argument("--transitions", type=int, default=400_000)
    ap.add_argument("--batch-size", type=int, default=OfflineTrainConfig().batch_size)
    args = ap.parse_args()
    city = build_scenario(ScenarioConfig(name="manhattan", orders=1000), SimConfig(), 0).city
    rng = np.random.default_rng(0)
    train = random_transitions(city, args.transitions, rng)
    held = random_transitions(city, 50_000, rng)

    torch.set_num_threads(1)
    out: dict[str, object] = {
        "benchmark": "train",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "net": dataclasses.asdict(CVNetConfig()),
        "offline_cpu_1_thread": bench_offline(city, train, held, "cpu", args.batch_size),
        "offline_cuda": None,
    }
    if torch.cuda.is_available():
        big = random_transitions(city, 4 * args.transitions, rng)
        out["offline_cuda"] = [
            bench_offline(city, big, held, "cuda", bs)
            for bs in (args.batch_size, 16 * args.batch_size)
        ]
        out["cuda_device"] = torch.cuda.get_device_name(0)
    out["online_residual_1_thread"] = bench_online(city)
    print(json_text(out, indent=2))


if __name__ == "__main__":
    main()
