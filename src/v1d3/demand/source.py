"""What a demand source is: the protocol every scenario source follows and the day it returns.

A source (:mod:`v1d3.demand.registry` lists them) reads its settings from a
:class:`~v1d3.demand.config.ScenarioConfig` and builds the city and one day of orders on it;
the simulator (:func:`v1d3.sim.scenario.build_scenario`) adds the fleet and the window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.geo.city import City

__all__ = ["DemandDay", "DemandSource", "subsample", "day_label", "weekday_cycle"]


@dataclass(frozen=True)
class DemandDay:
    """What a scenario source returns: the city, the day's orders and defaults."""

    city: City
    orders: Orders
    default_drivers: int
    """The source's calibrated fleet for this day's volume (ScenarioConfig.fleet_scale
    multiplies it)."""
    epoch_s: float = 0.0
    """Unix time of the day's midnight (0 when the day has no calendar date)."""
    weekday: int | None = None
    """The day's real weekday when the source has a calendar date (overrides the config's)."""
    date: str | None = None
    """The calendar date, YYYY-MM-DD, whose records the day replays (``kdd`` orders,
    ``nyc-tlc`` trips); None for drawn demand. Written to the run's log_meta.json."""
    like_date: str | None = None
    """The real date, YYYY-MM-DD, whose measured departure the day carries (``manhattan`` with
    ``real_days`` or ``like_date``); written to the run's log_meta.json."""
    plan: Orders | None = None
    """The orders the fleet is planned for, when they are not the day's own: on a real-like day,
    the weekday's average day (drivers plan their shifts for a usual day and meet the real
    one). None: the day's own orders."""


class DemandSource(Protocol):
    """A scenario source: a city and a day of demand on it, from a scenario config."""

    def describe(self) -> str:
        """One line for ``v1d3 scenarios``."""
        ...

    def city(self, cfg: ScenarioConfig) -> City:
        """The source's city for ``cfg`` (no orders drawn)."""
        ...

    def day(self, cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
        """The city and one day of orders (``rng`` draws whatever the source draws)."""
        ...

    def history(self, cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
        """The configs of ``days`` historical days to learn from (``v1d3 train``), one per
        day: :func:`weekday_cycle`, or the source's own dates when it replays several."""
        ...


def weekday_cycle(cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
    """``days`` copies of ``cfg`` on weekdays cycling Monday–Friday (0, 1, …, 4, 0, …)."""
    return [dataclasses.replace(cfg, weekday=d % 5) for d in range(days)]


def subsample(idx: np.ndarray, n: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    """A random subset of ``n`` of the usable rows ``idx``, in their order (all when ``n`` is
    None); ConfigError when there are fewer: ``orders=N exceeds the K usable WHAT``."""
    if n is None:
        return idx
    if n > idx.size:
        raise ConfigError(f"orders={n} exceeds the {idx.size} usable {what}")
    return np.sort(rng.choice(idx, size=n, replace=False))


def day_label(day: int) -> str:
    """``YYYY-MM-DD`` of a day counted from 1970-01-01 (how sources name a replayed date)."""
    return str(np.datetime64(int(day), "D"))
