"""``v1d3/Dispatch-v0``: the simulator as a Gymnasium environment, one step per dispatch round.

The observation is a fixed-size, padded table of candidate (driver, order) pairs plus global
features; the action is one score per pair; pairs with a positive score are matched one-to-one
by maximum total score (:func:`~v1d3.dispatch.matching.max_weight_matching`); the reward is the
round's completed income (fares of the matched orders whose passengers did not cancel), so an
episode's return is the day's ``total_income``. Rounds without any candidate pair pass without a
step. One episode is the scenario's horizon; repositioning is left to a named policy.

The environment drives the simulator's step API (:class:`~v1d3.sim.engine.Simulator`) itself:
``reset()`` and each ``step()`` call ``begin_round()`` until a round has candidate pairs, and
``step()`` hands the matching its scores select to ``end_round()``. Everything runs in the
caller's thread, so a seeded episode is deterministic.

Observation (``gymnasium.spaces.Dict``):

- ``pairs``: float32 ``(max_pairs, len(PAIR_FEATURES))``, the features of :data:`PAIR_FEATURES`;
  rows past the round's pairs are zero. When a round has more pairs than ``max_pairs``, the
  nearest ``max_pairs`` (by pickup distance) are kept and the rest cannot be matched.
- ``mask``: ``MultiBinary(max_pairs)``, 1 for a real pair.
- ``global``: float32 ``(len(GLOBAL_FEATURES),)``, the features of :data:`GLOBAL_FEATURES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import KDD_CANCEL_DISTANCES_M
from v1d3.dispatch.matching import max_weight_matching
from v1d3.errors import ConfigError
from v1d3.eval.metrics import compute_metrics
from v1d3.options import replace_fields
from v1d3.rounds import CandidateBatch
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.scenario import Scenario, build_scenario

__all__ = ["PAIR_FEATURES", "GLOBAL_FEATURES", "FEATURE_BOUND", "DispatchEnv"]

PAIR_FEATURES = (
    "pickup_km",
    "pickup_min",
    "fare",
    "trip_min",
    "trip_km",
    "wait_min",
    "origin_x_km",
    "origin_y_km",
    "dest_x_km",
    "dest_y_km",
    "driver_x_km",
    "driver_y_km",
    "cancel_prob",
)
"""Per-pair features: pickup distance (km) and time (min), fare, trip time (min) and length (km),
how long the order has waited (min), origin, destination and driver positions (km east/north of
the city's centre), the passenger's cancellation probability at this pickup distance."""
GLOBAL_FEATURES = (
    "time_of_day",
    "time_sin",
    "time_cos",
    "weekday",
    "progress",
    "orders",
    "drivers",
    "pairs",
    "pairs_dropped",
)
"""Global features: clock / 24 h, its sine and cosine, weekday / 6, share of the horizon done,
orders and drivers in the round's pairs, pairs before and beyond the ``max_pairs`` cut."""


FEATURE_BOUND = 1e6
"""Bound of every observation feature; features are clipped into ``[-bound, bound]``."""


class DispatchEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """The dispatching simulator as a Gymnasium environment (see the module docstring).

    ``scenario`` is a scenario name or a :class:`ScenarioConfig`; ``scenario_options`` set its
    fields (``hours=1.0``, ``orders=5000``) and its source's (``grid=...``, ``zone_day_sd=0.1``,
    by their option names, or ``kdd=KddConfig(...)`` whole); ``sim`` the platform;
    ``reposition`` names the repositioning policy (with ``models`` and ``reposition_params``).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        scenario: str | ScenarioConfig = "synthetic",
        sim: SimConfig | None = None,
        max_pairs: int = 512,
        reposition: str = "stay",
        reposition_params: dict[str, Any] | None = None,
        models: str | None = None,
        render_mode: str | None = None,
        **scenario_options: Any,
    ) -> None:
        base = scenario if isinstance(scenario, ScenarioConfig) else ScenarioConfig(name=scenario)
        cfg = replace_fields(base, scenario_options, "v1d3/Dispatch-v0")
        if max_pairs < 1:
            raise ConfigError(f"v1d3/Dispatch-v0: max_pairs must be >= 1, got {max_pairs}")
        if render_mode is not None:
            raise ConfigError(f"v1d3/Dispatch-v0: no render modes, got {render_mode!r}")
        self.scenario_config = cfg
        self.sim_config = sim if sim is not None else SimConfig()
        self.max_pairs = int(max_pairs)
        self.reposition_name = reposition
        self.reposition_params = dict(reposition_params or {})
        self.models = models
        self.render_mode = render_mode
        self.observation_space = spaces.Dict(  # type: ignore[assignment]
            {
                "pairs": spaces.Box(
                    -FEATURE_BOUND, FEATURE_BOUND, (self.max_pairs, len(PAIR_FEATURES)), np.float32
                ),
                "mask": spaces.MultiBinary(self.max_pairs),
                "global": spaces.Box(
                    -FEATURE_BOUND, FEATURE_BOUND, (len(GLOBAL_FEATURES),), np.float32
                ),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (self.max_pairs,), np.float32)
        self._sim: Simulator | None = None
        self._scenario: Scenario | None = None
        self._batch: CandidateBatch | None = None
        self._kept = np.zeros(0, dtype=np.int64)
        self._done = True
        self._last_obs: dict[str, np.ndarray] | None = None
        self.run_seed: int | None = None
        """Seed of the current episode's simulation (same seed → same run as ``v1d3 simulate``)."""

    # -- the simulator

    def _start(self, scenario: Scenario, seed: int) -> None:
        from v1d3.policies import make_reposition

        repo = make_reposition(
            self.reposition_name,
            None if self.models is None else Path(self.models),
            scenario.config,
            **self.reposition_params,
        )
        self._sim = Simulator(scenario, seed)
        self._sim.reset(None, repo)

    def _next(self, reward: float) -> tuple[dict[str, np.ndarray], float, bool, dict[str, Any]]:
        """Run to the next round with candidate pairs, or to the end of the day."""
        sim = self._sim
        assert sim is not None
        try:
            while not sim.done:
                batch = sim.begin_round()
                if batch is not None:
                    self._batch = batch
                    obs, info = self._observe(batch)
                    return obs, reward, False, info
                sim.end_round()
            log = sim.finish()
        except Exception:
            self._done = True
            raise
        self._done = True
        self._batch = None
        self._kept = np.zeros(0, dtype=np.int64)
        obs = self._empty_obs()
        return obs, reward, True, {"metrics": compute_metrics(log), "seed": self.run_seed}

    # -- observation

    def _empty_obs(self) -> dict[str, np.ndarray]:
        return {
            "pairs": np.zeros((self.max_pairs, len(PAIR_FEATURES)), dtype=np.float32),
            "mask": np.zeros(self.max_pairs, dtype=np.int8),
            "global": np.zeros(len(GLOBAL_FEATURES), dtype=np.float32),
        }

    def _observe(self, batch: CandidateBatch) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        sc = self._scenario
        assert sc is not None
        n = len(batch)
        if n > self.max_pairs:
            kept = np.sort(np.argsort(batch.pickup_m, kind="stable")[: self.max_pairs])
        else:
            kept = np.arange(n)
        self._kept = kept
        k = kept.size
        city = sc.city
        if batch.cancel_prob is not None:
            cp = np.array(
                [
                    np.interp(m, KDD_CANCEL_DISTANCES_M, c)
                    for m, c in zip(batch.pickup_m[kept], batch.cancel_prob[kept], strict=True)
                ]
            )
        elif self.sim_config.cancellations:
            cp = np.interp(
                batch.pickup_m[kept], KDD_CANCEL_DISTANCES_M, self.sim_config.cancel_curve
            )
        else:
            cp = np.zeros(k)
        ox, oy = city.proj.to_xy(batch.origin_lat[kept], batch.origin_lng[kept])
        dx, dy = city.proj.to_xy(batch.dest_lat[kept], batch.dest_lng[kept])
        vx, vy = city.proj.to_xy(batch.driver_lat[kept], batch.driver_lng[kept])
        cols = [
            batch.pickup_m[kept] / 1000.0,
            batch.pickup_s[kept] / 60.0,
            batch.fare[kept],
            batch.trip_s[kept] / 60.0,
            batch.trip_m[kept] / 1000.0,
            (batch.t - batch.t_request[kept]) / 60.0,
            ox / 1000.0,
            oy / 1000.0,
            dx / 1000.0,
            dy / 1000.0,
            vx / 1000.0,
            vy / 1000.0,
            cp,
        ]
        obs = self._empty_obs()
        feats = np.nan_to_num(np.column_stack(cols), nan=0.0)
        obs["pairs"][:k] = np.clip(feats, -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32)
        obs["mask"][:k] = 1
        day = batch.t / 86400.0
        span = max(sc.end_s - sc.start_s, 1e-9)
        n_orders = int(np.unique(batch.order).size)
        n_drivers = int(np.unique(batch.driver).size)
        glob = [
            day,
            np.sin(2 * np.pi * day),
            np.cos(2 * np.pi * day),
            batch.weekday / 6.0,
            (batch.t - sc.start_s) / span,
            n_orders,
            n_drivers,
            n,
            n - k,
        ]
        obs["global"][:] = np.clip(glob, -FEATURE_BOUND, FEATURE_BOUND)
        info = {"t_s": batch.t, "pairs": n, "kept": k, "orders": n_orders, "drivers": n_drivers}
        return obs, info

    # -- the Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new simulated day; the simulation's seed is drawn from the env's generator."""
        super().reset(seed=seed)
        self._sim = None
        self.run_seed = int(self.np_random.integers(0, 2**31 - 1))
        self._scenario = build_scenario(self.scenario_config, self.sim_config, self.run_seed)
        self._done = False
        self._start(self._scenario, self.run_seed)
        obs, _, _, info = self._next(0.0)
        info["seed"] = self.run_seed
        return obs, info

    def scores_to_matching(self, action: np.ndarray) -> np.ndarray:
        """Indices into the current batch of the matching the scores select."""
        if self._batch is None:
            return np.zeros(0, dtype=np.int64)
        a = np.asarray(action, dtype=np.float64).ravel()
        if a.size != self.max_pairs:
            raise ConfigError(
                f"v1d3/Dispatch-v0: action has {a.size} scores, expected max_pairs={self.max_pairs}"
            )
        k = self._kept.size
        pos = np.flatnonzero(a[:k] > 0)
        if pos.size == 0:
            return np.zeros(0, dtype=np.int64)
        idx = self._kept[pos]
        b = self._batch
        m = max_weight_matching(b.order[idx], b.driver[idx], a[pos])
        return np.sort(idx[m])

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Match the current round by the scores; run to the next round with candidate pairs."""
        if self._done or self._sim is None:
            raise ConfigError("v1d3/Dispatch-v0: step() after the episode ended; call reset()")
        sel = self.scores_to_matching(action)
        try:
            outcome = self._sim.end_round(sel)
        except Exception:
            self._done = True
            raise
        reward = 0.0  # the round's completed income
        if outcome is not None and outcome.selected.size:
            reward = float(outcome.batch.fare[outcome.selected][~outcome.cancelled].sum())
        obs, reward, terminated, info = self._next(reward)
        return obs, reward, terminated, False, info

    def close(self) -> None:
        """End the current day, if any (safe to call twice)."""
        self._sim = None
        self._done = True
