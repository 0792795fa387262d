"""A random and a greedy scorer through the Gymnasium environment (trains nothing).

python examples/gym_scorers.py
"""

import gymnasium as gym
import numpy as np

from v1d3.gym import PAIR_FEATURES  # importing v1d3 registers v1d3/Dispatch-v0

env = gym.make("v1d3/Dispatch-v0", scenario="synthetic", start_hour=7.0, hours=1.0)
km = PAIR_FEATURES.index("pickup_km")


def random_scorer(obs):
    return env.action_space.sample()  # a score in [-1, 1] per pair; > 0 may be matched


def greedy_scorer(obs):
    # nearer pickups score higher; padding rows score -1 (never matched)
    return np.where(obs["mask"] == 1, 1.0 - obs["pairs"][:, km] / 4.0, -1.0).astype(np.float32)


for name, scorer in [("random", random_scorer), ("greedy", greedy_scorer)]:
    obs, info = env.reset(seed=0)
    income, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(scorer(obs))
        income += reward
    print(f"{name}: income {income:,.0f}, answered {info['metrics']['answer_rate']:.1%}")
env.close()
