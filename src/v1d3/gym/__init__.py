"""Gymnasium environments of V1D3; importing this package registers them.

``v1d3/Dispatch-v0``: one step is one dispatch round; the observation is the round's candidate
pairs as a padded feature array with a mask plus global features, the action one score per pair,
the reward the round's completed income.

>>> import gymnasium, v1d3.gym
>>> env = gymnasium.make("v1d3/Dispatch-v0", scenario="synthetic", hours=1.0)

``gymnasium.make("v1d3.gym:v1d3/Dispatch-v0")`` imports and registers in one go.
"""

from __future__ import annotations

import gymnasium

from v1d3.gym.env import GLOBAL_FEATURES, PAIR_FEATURES, DispatchEnv

__all__ = ["ENV_ID", "DispatchEnv", "PAIR_FEATURES", "GLOBAL_FEATURES", "register_envs"]

ENV_ID = "v1d3/Dispatch-v0"


def register_envs() -> None:
    """Register V1D3's environments with Gymnasium (idempotent; also the plugin entry point)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="v1d3.gym.env:DispatchEnv")


register_envs()
