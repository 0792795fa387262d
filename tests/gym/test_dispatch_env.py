"""``v1d3/Dispatch-v0``: the Gymnasium checker, seeded determinism, scorers through the env."""

from __future__ import annotations

import threading
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import v1d3.gym  # noqa: F401 - registers the environment
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.gym import ENV_ID, GLOBAL_FEATURES, PAIR_FEATURES

SMALL = dict(scenario="synthetic", orders=12000, start_hour=7.0, hours=0.5)
PICKUP_KM = PAIR_FEATURES.index("pickup_km")


def greedy(obs: dict[str, np.ndarray]) -> np.ndarray:
    """Shorter pickups score higher; every real pair scores above zero (radius 2 km)."""
    return np.where(obs["mask"] == 1, 1.0 - obs["pairs"][:, PICKUP_KM] / 4.0, -1.0).astype(
        np.float32
    )


def test_passes_the_gymnasium_checker() -> None:
    env = gymnasium.make(ENV_ID, **SMALL, max_pairs=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning
        check_env(env.unwrapped)
    env.close()


def test_seeded_resets_are_deterministic() -> None:
    a = gymnasium.make(ENV_ID, **SMALL, max_pairs=64)
    b = gymnasium.make(ENV_ID, **SMALL, max_pairs=64)
    runs = []
    for env in (a, b, a):  # two envs, and one env reset again
        obs, info = env.reset(seed=11)
        trace = [obs, info["seed"]]
        for _ in range(25):
            obs, reward, terminated, truncated, info = env.step(greedy(obs))
            trace += [obs, reward]
            assert not terminated and not truncated
        runs.append(trace)
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            if isinstance(x, dict):
                for k in x:
                    np.testing.assert_array_equal(x[k], y[k])
            else:
                assert x == y
    assert a.reset(seed=12)[1]["seed"] != runs[0][1]
    a.close()
    b.close()


def test_random_and_greedy_scorers_run() -> None:
    env = gymnasium.make(ENV_ID, **SMALL, max_pairs=128)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    for _ in range(30):
        obs, reward, terminated, _, info = env.step(env.action_space.sample())
        assert obs in env.observation_space and reward >= 0 and not terminated
        assert obs["mask"].sum() == info["kept"] <= info["pairs"]
    total = 0.0
    for _ in range(30):
        obs, reward, *_ = env.step(greedy(obs))
        total += reward
    assert total > 0
    env.close()


def test_greedy_episode_is_distance_matching() -> None:
    """Scores ``1 - km/4`` rank matchings as ``distance`` does: the episode is its run."""
    env = gymnasium.make(ENV_ID, **SMALL, max_pairs=512)
    obs, info = env.reset(seed=4)
    seed, total, steps, terminated = info["seed"], 0.0, 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(greedy(obs))
        total += reward
        steps += 1
    assert not obs["mask"].any()
    native = run_simulation(RunConfig(scenario=env.unwrapped.scenario_config, seed=seed))
    assert info["metrics"]["total_income"] == native.metrics["total_income"]
    assert round(total, 2) == native.metrics["total_income"]
    assert steps == int((native.log.rounds["pairs"] > 0).sum())
    with pytest.raises(ConfigError, match="after the episode ended"):
        env.step(greedy(obs))
    env.close()


def test_truncation_reset_midway_and_errors() -> None:
    env = gymnasium.make("v1d3.gym:v1d3/Dispatch-v0", **SMALL, max_pairs=3)
    obs, info = env.reset(seed=1)
    g = dict(zip(GLOBAL_FEATURES, obs["global"].tolist(), strict=True))
    assert obs["mask"].sum() == min(3, info["pairs"])
    assert g["pairs"] == info["pairs"] and g["pairs_dropped"] == info["pairs"] - info["kept"]
    env.step(np.ones(3, dtype=np.float32))
    env.reset(seed=2)  # stops the running day, starts another
    with pytest.raises(ConfigError, match="expected max_pairs=3"):
        env.unwrapped.step(np.ones(5, dtype=np.float32))
    env.close()
    env.close()
    with pytest.raises(ConfigError, match="max_pairs"):
        gymnasium.make(ENV_ID, max_pairs=0)


def test_episodes_run_in_the_callers_thread() -> None:
    threads = threading.active_count()
    env = gymnasium.make(ENV_ID, **SMALL, max_pairs=32)
    obs, _ = env.reset(seed=3)
    for _ in range(5):
        obs, *_ = env.step(greedy(obs))
    assert threading.active_count() == threads
    env.close()


def test_source_options_by_option_name_or_whole_config() -> None:
    from v1d3.demand.config import KddConfig, ScenarioConfig
    from v1d3.gym.env import DispatchEnv

    env = DispatchEnv(scenario="manhattan", hours=1.0, zone_day_sd=0.1)
    assert env.scenario_config.manhattan.zone_day_sd == 0.1
    assert env.scenario_config.hours == 1.0
    env = DispatchEnv(scenario="kdd", grid="g.csv", kdd_orders="o.csv")
    assert env.scenario_config.kdd == KddConfig(grid="g.csv", orders="o.csv")
    env = DispatchEnv(scenario=ScenarioConfig(name="kdd"), kdd=KddConfig(grid="g.csv"))
    assert env.scenario_config.kdd.grid == "g.csv"
    with pytest.raises(ConfigError, match=r"^v1d3/Dispatch-v0: unknown option 'zone_dy_sd'"):
        DispatchEnv(scenario="manhattan", zone_dy_sd=0.1)


def test_a_list_is_a_tuple_field() -> None:
    from v1d3.gym.env import DispatchEnv

    env = DispatchEnv(scenario="synthetic", synthetic_rush_hours=[8.0])
    assert env.scenario_config.synthetic.rush_hours == (8.0,)
