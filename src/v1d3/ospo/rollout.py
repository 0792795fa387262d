"""One rolled-out day: the exploring policy dispatches a simulated day, its recorded rounds come
back with their rewards (a picklable task, so it runs in a local process or as a Ray task).

A sample is a driver the matching assigned in a recorded round. Its one-step reward is the
served trip's fare minus the driver's time it took at ``time_cost_per_h`` (by default the
day's own income per driver online hour) and minus ``pickup_penalty_per_km`` per km of pickup
(0 when the rider cancelled); its reward-to-go (GRPO)
sums, discounted, the same rewards of the driver's trips that start within ``horizon_s`` of
the round, read off the day's event log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.eval.metrics import driver_table
from v1d3.ospo.config import PolicyTrainConfig, ScorerConfig
from v1d3.ospo.features import FEATURES
from v1d3.ospo.loss import rewards_to_go, trip_rewards
from v1d3.ospo.policy import RoundRecords, ScorerDispatch
from v1d3.reposition.baselines import Stay
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.log import TRIP
from v1d3.sim.scenario import build_scenario

__all__ = ["RolloutTask", "Rollout", "rollout_day", "concat_rollouts"]

_GROUP_STRIDE = 1 << 32
"""Groups of different days are numbered ``day · stride + window`` (a day has far fewer)."""


@dataclass(frozen=True)
class RolloutTask:
    """What a worker needs to roll out one day."""

    scenario: ScenarioConfig
    sim: SimConfig
    seed: int
    state: dict[str, np.ndarray]
    """The policy's weights (:meth:`~v1d3.ospo.net.PairScorer.numpy_state`)."""
    scorer: ScorerConfig
    train: PolicyTrainConfig


@dataclass
class Rollout:
    """A day's recorded rounds, flat: pairs, drivers (segments) and samples."""

    x: np.ndarray
    """Raw feature rows of every recorded pair, (pairs, features) float32."""
    seg: np.ndarray
    """Each pair's segment (a driver in a round), numbered across the day."""
    n_seg: int
    pair_ptr: np.ndarray
    """Round ``r``'s pairs are ``pair_ptr[r]:pair_ptr[r+1]``."""
    seg_ptr: np.ndarray
    """Round ``r``'s segments are ``seg_ptr[r]:seg_ptr[r+1]``."""
    chosen: np.ndarray
    """Pair index of each sample (assigned driver)."""
    sample_round: np.ndarray
    """Round of each sample."""
    sample_group: np.ndarray
    """Group of each sample (its window of the day; numbered apart across days)."""
    reward: np.ndarray
    """One-step reward of each sample."""
    to_go: np.ndarray
    """Discounted reward-to-go of each sample over the horizon."""
    day: dict[str, Any]
    """The day: seed, weekday, income, orders, answered, rounds recorded, wall seconds."""

    @property
    def n_rounds(self) -> int:
        return int(self.pair_ptr.size - 1)


def rollout_day(task: RolloutTask) -> Rollout:
    """Simulate ``task``'s day with the exploring policy and return its recorded rounds."""
    tic = time.perf_counter()
    scenario = build_scenario(task.scenario, task.sim, task.seed)
    policy = ScorerDispatch(
        task.state,
        task.scorer,
        explore=task.train.explore,
        group_s=task.train.group_s,
        record_groups=task.train.groups_per_day,
    )
    log = Simulator(scenario, task.seed).run(policy, Stay())
    ev = log.events
    trip = ev["kind"] == TRIP
    t_order = ev["order_id"][trip]
    t_fare = ev["reward"][trip]
    t_busy = ev["t_end_s"][trip] - ev["t_start_s"][trip]
    cost = task.train.time_cost_per_h
    if cost is None:  # what an hour of a driver's time earned this day
        online_h = float(driver_table(log)["online_s"].sum()) / 3600.0
        cost = float(t_fare.sum()) / online_h if online_h > 0 else 0.0
    t_reward = trip_rewards(
        t_fare,
        t_busy,
        ev["pickup_m"][trip],
        np.ones(t_fare.size, bool),
        cost,
        task.train.pickup_penalty_per_km,
    )
    out = _flatten(policy.records)
    rec = policy.records
    order = np.concatenate(rec.order) if rec.order else np.zeros(0, np.int64)
    driver = np.concatenate(rec.driver) if rec.driver else np.zeros(0, np.int64)
    t = np.repeat(np.asarray(rec.t, dtype=np.float64), [c.size for c in rec.chosen])
    reward = np.zeros(order.size)
    if t_order.size:  # the samples' trips, found by order id (an order starts one trip at most)
        by_order = np.argsort(t_order)
        pos = np.minimum(np.searchsorted(t_order[by_order], order), t_order.size - 1)
        hit = by_order[pos]
        reward = np.where(t_order[hit] == order, t_reward[hit], 0.0)
    cfg = task.train
    to_go = rewards_to_go(
        driver,
        t,
        ev["driver_id"][trip],
        ev["t_start_s"][trip],
        t_reward,
        cfg.horizon_s,
        cfg.to_go_gamma,
        cfg.to_go_unit_s,
    )
    day = {
        "seed": task.seed,
        "weekday": task.scenario.weekday,
        "start_hour": task.scenario.start_hour,
        "hours": task.scenario.hours,
        "income": float(t_fare.sum()),
        "orders": int(len(scenario.orders)),
        "answered": int(trip.sum()),
        "time_cost_per_h": cost,
        "rounds": out["n_rounds"],
        "pairs": int(out["x"].shape[0]),
        "wall_s": time.perf_counter() - tic,
    }
    return Rollout(
        out["x"],
        out["seg"],
        out["n_seg"],
        out["pair_ptr"],
        out["seg_ptr"],
        out["chosen"],
        out["sample_round"],
        out["sample_group"],
        reward,
        to_go,
        day,
    )


def _flatten(rec: RoundRecords) -> dict[str, Any]:
    """The per-round lists as flat arrays with offsets."""
    n_pairs = np.array([x.shape[0] for x in rec.x], dtype=np.int64)
    n_seg = np.asarray(rec.n_seg, dtype=np.int64)
    pair_ptr = np.concatenate(([0], np.cumsum(n_pairs)))
    seg_ptr = np.concatenate(([0], np.cumsum(n_seg)))
    n_chosen = np.array([c.size for c in rec.chosen], dtype=np.int64)
    if rec.x:
        x = np.concatenate(rec.x)
        seg = np.concatenate([s + o for s, o in zip(rec.seg, seg_ptr[:-1], strict=True)])
        chosen = np.concatenate([c + o for c, o in zip(rec.chosen, pair_ptr[:-1], strict=True)])
    else:
        x = np.zeros((0, len(FEATURES)), np.float32)
        seg, chosen = np.zeros(0, np.int64), np.zeros(0, np.int64)
    return {
        "x": x,
        "seg": seg.astype(np.int64),
        "n_seg": int(seg_ptr[-1]),
        "pair_ptr": pair_ptr,
        "seg_ptr": seg_ptr,
        "chosen": chosen.astype(np.int64),
        "sample_round": np.repeat(np.arange(len(rec.x)), n_chosen),
        "sample_group": np.repeat(np.asarray(rec.group, dtype=np.int64), n_chosen),
        "n_rounds": len(rec.x),
    }


def concat_rollouts(days: list[Rollout]) -> Rollout:
    """Several days' rollouts as one (rounds, segments and pairs renumbered)."""
    pair_off = np.cumsum([0] + [d.x.shape[0] for d in days])
    seg_off = np.cumsum([0] + [d.n_seg for d in days])
    round_off = np.cumsum([0] + [d.n_rounds for d in days])
    return Rollout(
        np.concatenate([d.x for d in days]),
        np.concatenate([d.seg + o for d, o in zip(days, seg_off, strict=False)]),
        int(seg_off[-1]),
        np.concatenate([[0]] + [d.pair_ptr[1:] + o for d, o in zip(days, pair_off, strict=False)]),
        np.concatenate([[0]] + [d.seg_ptr[1:] + o for d, o in zip(days, seg_off, strict=False)]),
        np.concatenate([d.chosen + o for d, o in zip(days, pair_off, strict=False)]),
        np.concatenate([d.sample_round + o for d, o in zip(days, round_off, strict=False)]),
        np.concatenate([d.sample_group + i * _GROUP_STRIDE for i, d in enumerate(days)]),
        np.concatenate([d.reward for d in days]),
        np.concatenate([d.to_go for d in days]),
        {"days": [d.day for d in days]},
    )
