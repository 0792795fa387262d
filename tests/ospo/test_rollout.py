"""A rolled-out day: its samples' rewards are read off the day's event log, and days concatenate."""

from __future__ import annotations

import numpy as np
import torch

from scenario_fixtures import small_synthetic
from v1d3.ospo.config import PolicyTrainConfig, ScorerConfig
from v1d3.ospo.net import PairScorer
from v1d3.ospo.rollout import Rollout, RolloutTask, concat_rollouts, rollout_day
from v1d3.sim.config import SimConfig

COST = 30.0


def _rollout(seed: int, cost: float = COST, pickup: float = 10.0) -> Rollout:
    torch.manual_seed(0)
    net = PairScorer(ScorerConfig(layers=(8,)))
    cfg = PolicyTrainConfig(
        groups_per_day=10**6, time_cost_per_h=cost, pickup_penalty_per_km=pickup, horizon_s=900.0
    )
    return rollout_day(
        RolloutTask(small_synthetic(), SimConfig(), seed, net.numpy_state(), net.cfg, cfg)
    )


def _check_structure(r: Rollout) -> None:
    assert r.pair_ptr[-1] == r.x.shape[0] and r.seg_ptr[-1] == r.n_seg
    rounds = r.sample_round
    # every sample's pair lies in its own round, and so does its pair's driver segment
    assert np.all(r.pair_ptr[rounds] <= r.chosen) and np.all(r.chosen < r.pair_ptr[rounds + 1])
    seg = r.seg[r.chosen]
    assert np.all(r.seg_ptr[rounds] <= seg) and np.all(seg < r.seg_ptr[rounds + 1])
    assert np.all(np.diff(rounds) >= 0)


def test_rewards_are_the_served_trips_fares_less_the_drivers_time() -> None:
    r = _rollout(3)
    _check_structure(r)
    assert r.day["time_cost_per_h"] == COST and r.n_rounds > 50
    # every window was recorded: the samples are the day's assignments, served or cancelled
    served = r.reward != 0
    assert served.mean() > 0.5
    assert r.day["answered"] >= served.sum()


def test_reward_to_go_adds_the_drivers_later_trips_within_the_horizon() -> None:
    # rewards = fares (no time cost, no pickup charge): a sample's own trip is inside its
    # horizon and later trips only add, so the reward-to-go is at least the one-step reward
    r = _rollout(3, cost=0.0, pickup=0.0)
    assert np.all(r.reward >= 0)
    assert np.all(r.to_go >= r.reward - 1e-9)
    assert (r.to_go > r.reward + 1e-9).mean() > 0.1  # many drivers serve again within 15 min


def test_days_concatenate_with_their_rounds_drivers_and_groups_apart() -> None:
    a, b = _rollout(3), _rollout(4)
    both = concat_rollouts([a, b])
    _check_structure(both)
    assert both.n_rounds == a.n_rounds + b.n_rounds
    assert both.x.shape[0] == a.x.shape[0] + b.x.shape[0]
    assert (
        len(set(both.sample_group[: a.chosen.size]) & set(both.sample_group[a.chosen.size :])) == 0
    )
    np.testing.assert_array_equal(both.reward, np.concatenate([a.reward, b.reward]))
    assert [d["seed"] for d in both.day["days"]] == [3, 4]
