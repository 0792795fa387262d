"""Gymnasium environments of V1D3; importing this package registers them.

``v1d3/Dispatch-v0``: one step is one dispatch round; the observation is the round's candidate
pairs as a padded feature array with a mask plus global features, the action one score per pair,
the reward the round's completed income.

>>> import gymnasium, v1d3
>>> env = gymnasium.make("v1d3/Dispatch-v0", scenario="synthetic", hours=1.0)

``import v1d3`` registers it, as importing any environment package does, in either order with
``import gymnasium`` (:mod:`v1d3.gym_registry`); so does importing this package, and
``gymnasium.make("v1d3.gym:v1d3/Dispatch-v0")`` imports and registers in one go.
"""

from __future__ import annotations

from v1d3.gym.env import GLOBAL_FEATURES, PAIR_FEATURES, DispatchEnv
from v1d3.gym_registry import ENV_ID, register_envs

__all__ = ["ENV_ID", "DispatchEnv", "PAIR_FEATURES", "GLOBAL_FEATURES", "register_envs"]

register_envs()
