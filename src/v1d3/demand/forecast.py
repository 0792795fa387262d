"""Expected departures per (time slot, cell) from historical days, for policies that plan ahead.

A platform forecasts a day's demand from the days it has seen, never from the day itself. Here
the history is :data:`HISTORY_DAYS` days of the scenario's plain demand, drawn from their own
random stream (:func:`~v1d3.sim.seeds.history_rng`, so no run's day is among them whatever its
seed) and averaged: :func:`historical_forecast`. The plain demand is the scenario stripped of
what a platform cannot know in advance (:func:`plain_config`): the real date a real-like day
borrows its departure from, the day's zone multipliers and its shocks. A scenario that replays
one real date (``nyc-tlc``, ``kdd`` with an orders file) has no history apart from the day
itself, so it has no forecast (:func:`check_forecastable`)."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from v1d3.demand.config import ManhattanConfig, ScenarioConfig
from v1d3.demand.registry import source_of
from v1d3.errors import ConfigError
from v1d3.sim.config import DAY_S
from v1d3.sim.seeds import history_rng

__all__ = [
    "HISTORY_DAYS",
    "DEFAULT_FORECAST_DAYS",
    "FORECAST_SLOT_S",
    "DepartureForecast",
    "plain_config",
    "check_forecastable",
    "historical_forecast",
]

HISTORY_DAYS = 8
"""How many historical days of each weekday a forecast may average."""
DEFAULT_FORECAST_DAYS = 4
"""Historical days a policy's forecast averages unless told otherwise."""
FORECAST_SLOT_S = 900.0
"""Length of a forecast slot, seconds (the Manhattan table's 15 minutes)."""


@dataclass(frozen=True, eq=False)
class DepartureForecast:
    """Expected departures per (slot, cell) of one weekday."""

    slot_s: float
    """Length of a slot, seconds."""
    counts: np.ndarray
    """Expected departures in each slot from each cell, shape (slots, n_cells)."""

    def departures(self, t0: float, t1: float) -> np.ndarray:
        """Expected departures from each cell in ``[t0, t1)`` (seconds after midnight; a slot
        cut by an end counts pro rata), shape (n_cells,)."""
        n_slots = self.counts.shape[0]
        edges = np.arange(n_slots + 1) * self.slot_s
        overlap = np.clip(np.minimum(edges[1:], t1) - np.maximum(edges[:-1], t0), 0.0, None)
        return (overlap / self.slot_s) @ self.counts  # type: ignore[no-any-return]


def plain_config(cfg: ScenarioConfig) -> ScenarioConfig:
    """``cfg`` as a usual day: no real-like date (its weekday kept), no zone multipliers, no
    shocks; volume, city and weekday as given."""
    return dataclasses.replace(
        cfg,
        manhattan=ManhattanConfig(),
        shocks=(),
        random_shocks=False,
    )


def check_forecastable(cfg: ScenarioConfig) -> None:
    """ConfigError when the scenario's days are replays of one real date (no history)."""
    if cfg.name == "nyc-tlc" or (cfg.name == "kdd" and cfg.kdd.orders is not None):
        raise ConfigError(
            f"scenario {cfg.name!r} replays one real date: a forecast from historical days "
            "would be the day itself; use manhattan, synthetic or kdd without an orders file"
        )


def historical_forecast(cfg: ScenarioConfig, days: int) -> DepartureForecast:
    """The mean of the plain day's departures per (15-minute slot, cell) over the first
    ``days`` historical days (computed once per process and plain config)."""
    check_forecastable(cfg)
    if not 1 <= days <= HISTORY_DAYS:
        raise ConfigError(f"forecast days must be in 1..{HISTORY_DAYS}, got {days}")
    return _forecast(plain_config(cfg), days)


@functools.lru_cache(maxsize=8)
def _forecast(cfg: ScenarioConfig, days: int) -> DepartureForecast:
    source = source_of(cfg)
    n_slots = int(round(DAY_S / FORECAST_SLOT_S))
    total: np.ndarray | None = None
    for i in range(days):
        day = source.day(cfg, history_rng(i, cfg.weekday))
        cell = day.city.cell_of(day.orders.o_lat, day.orders.o_lng)
        slot = np.clip((day.orders.t_request // FORECAST_SLOT_S).astype(np.int64), 0, n_slots - 1)
        counts = np.bincount(
            slot * day.city.n_cells + cell, minlength=n_slots * day.city.n_cells
        ).reshape(n_slots, day.city.n_cells)
        total = counts.astype(np.float64) if total is None else total + counts
    assert total is not None
    return DepartureForecast(slot_s=FORECAST_SLOT_S, counts=total / days)
