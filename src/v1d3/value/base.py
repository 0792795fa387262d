"""The value-function interface shared by dispatching, repositioning and every learner.

A value function maps states ``s = (location, time of day)`` of one weekday to ``V(s)``, the
expected discounted income from ``s`` to the end of the day (docs/method.md §2). Locations come as
the city's dense cell index plus coordinates, so tabular, tile-coded and neural functions all
fit behind one batch call. Discounting is per ``time_unit_s`` seconds.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from v1d3.errors import ConfigError
from v1d3.geo.city import City

__all__ = ["ValueFunction", "ZeroValue", "Discount", "discounted_reward", "champion_units"]


@dataclass(frozen=True)
class Discount:
    """Discount factor and the time unit it applies to."""

    gamma: float = 0.9
    """Discount factor per time unit (dimensionless, 0 < gamma ≤ 1)."""
    time_unit_s: float = 600.0
    """Length of one time unit, seconds (the KDD Cup 2020 champion used 10 minutes)."""

    def __post_init__(self) -> None:
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"gamma must be in (0, 1], got {self.gamma}")
        if not 0 < self.time_unit_s < math.inf:
            raise ConfigError(
                f"time_unit_s must be a finite number of seconds > 0, got {self.time_unit_s}"
            )

    def units(self, seconds: np.ndarray | float) -> np.ndarray:
        """Durations in time units."""
        return np.asarray(seconds, dtype=np.float64) / self.time_unit_s

    def factor(self, seconds: np.ndarray | float) -> np.ndarray:
        """``gamma ** (seconds / time_unit_s)``."""
        return np.power(self.gamma, self.units(seconds))


def discounted_reward(reward: np.ndarray, k: np.ndarray, gamma: float) -> np.ndarray:
    """``R_gamma(R, k) = R (gamma^k − 1) / (k (gamma − 1))``, and ``R`` where ``k == 0`` or
    ``gamma == 1`` — a reward earned evenly over ``k`` time units (docs/method.md §2)."""
    reward = np.asarray(reward, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    if gamma == 1.0:
        return reward * np.ones_like(k)
    small = k < 1e-9
    ks = np.where(small, 1.0, k)
    out = reward * (np.power(gamma, ks) - 1.0) / (ks * (gamma - 1.0))
    return np.where(small, reward, out)


def champion_units(trip_s: np.ndarray, time_unit_s: float = 600.0) -> np.ndarray:
    """The champion's trip length in time units: ``max(1, floor(trip_s / time_unit_s))``."""
    return np.maximum(1.0, np.floor(np.asarray(trip_s, dtype=np.float64) / time_unit_s))


class ValueFunction(ABC):
    """Batch ``V(cell, lat, lng, t)`` for one city and weekday.

    :meth:`bind` is called before a simulated day with the city and weekday, so a function can
    precompute per-cell tables (H3 parents, tile indices). ``t_s`` is seconds after midnight and
    may run past 24 h (states after the end of the day are worth 0 by convention of the learner).
    """

    discount: Discount

    def bind(self, city: City, weekday: int) -> None:
        """Prepare for a day in ``city`` on ``weekday`` (Monday = 0)."""
        self.city = city
        self.weekday = weekday

    @abstractmethod
    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        """Values of the states, one per entry (arrays broadcast together)."""


class ZeroValue(ValueFunction):
    """``V = 0`` everywhere: the start of values learned online from nothing (the ablation
    "online only" of docs/method.md §9)."""

    def __init__(self, discount: Discount) -> None:
        self.discount = discount

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        c, t = np.broadcast_arrays(np.asarray(cell), np.asarray(t_s, dtype=np.float64))
        return np.zeros(c.shape, dtype=np.float64)
