"""Scenarios: a city, one day of orders and a fleet, built from a typed config.

The config (:class:`~v1d3.demand.config.ScenarioConfig`) names a demand source
(:mod:`v1d3.demand.registry`) that draws the city and the day; this module adds the fleet and the
simulated window. A :class:`~v1d3.demand.config.ScenarioConfig` plus a
:class:`~v1d3.sim.config.SimConfig` and a seed determine a run completely; both are saved in
every run folder and can be loaded back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import Orders
from v1d3.demand.registry import source_of
from v1d3.errors import ConfigError
from v1d3.geo.city import City
from v1d3.sim.config import SimConfig
from v1d3.sim.fleet import Fleet, make_fleet
from v1d3.sim.seeds import scenario_streams
from v1d3.sim.shock_draw import draw_shocks
from v1d3.sim.shocks import ShockedDay, check_shock_places, stage_shocks

__all__ = ["Scenario", "build_scenario", "check_scenario_shocks"]


@dataclass(eq=False)
class Scenario:
    """Everything one simulated day needs, drawn and ready."""

    config: ScenarioConfig
    sim: SimConfig
    city: City
    orders: Orders
    fleet: Fleet
    weekday: int
    start_s: float
    end_s: float
    o_cell: np.ndarray
    """Dense cell of each order's origin."""
    d_cell: np.ndarray
    """Dense cell of each order's destination."""
    epoch_s: float = 0.0
    """Unix time of the simulated day's midnight (0 when the day has no calendar date)."""
    date: str | None = None
    """The calendar date the day replays (:class:`~v1d3.demand.source.DemandDay`), or None."""
    like_date: str | None = None
    """The real date whose measured departure the day carries (:class:`DemandDay`), or None."""
    shocked: ShockedDay | None = None
    """What the scenario's shocks did to the day (None: a day without shocks)."""


def build_scenario(cfg: ScenarioConfig, sim: SimConfig, seed: int) -> Scenario:
    """Draw the scenario's day for ``seed``: same config and seed → the same orders and fleet."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    rng_demand, rng_fleet = scenario_streams(seed, cfg.weekday)
    day = source_of(cfg).day(cfg, rng_demand)
    start_s, end_s = cfg.window_s
    orders = day.orders.window(start_s, end_s)
    planned = orders if day.plan is None else day.plan.window(start_s, end_s)
    default = day.default_drivers * cfg.fleet_scale
    n_drivers = cfg.drivers if cfg.drivers is not None else max(1, int(round(default)))
    if cfg.hours < 24 and cfg.drivers is None and sim.shift_mean_h > 0:
        # keep the online density of the full day: a driver anchored to demand at time t works
        # one shift from t, so online(t) ≈ fleet × demand share per hour × shift length
        share = len(planned) / max(len(day.orders if day.plan is None else day.plan), 1)
        per_hour = share / cfg.hours
        n_drivers = max(1, int(round(default * per_hour * sim.shift_mean_h)))
    # drivers are placed for the day they planned for: a real-like day's own departure is
    # what they meet
    fleet = make_fleet(n_drivers, planned, start_s, end_s, sim, rng_fleet)
    # shocks after the fleet: the drivers are drawn from the day without them
    city, shocked = day.city, None
    if cfg.shocks or cfg.random_shocks:
        drawn = draw_shocks(cfg, city, len(day.orders), seed) if cfg.random_shocks else ()
        orders, city, fleet, shocked = stage_shocks(
            cfg, sim, city, day.orders, orders, fleet, seed, drawn=drawn
        )
    o_cell = city.cell_of(orders.o_lat, orders.o_lng)
    d_cell = city.cell_of(orders.d_lat, orders.d_lng)
    return Scenario(
        config=cfg,
        sim=sim,
        city=city,
        orders=orders,
        fleet=fleet,
        weekday=day.weekday if day.weekday is not None else cfg.weekday,
        start_s=start_s,
        end_s=end_s,
        o_cell=o_cell,
        d_cell=d_cell,
        epoch_s=day.epoch_s,
        date=day.date,
        like_date=day.like_date,
        shocked=shocked,
    )


def check_scenario_shocks(cfg: ScenarioConfig) -> None:
    """ConfigError naming the field when a staged shock names a zone the scenario's city lacks
    or a point outside it (what a study checks before it writes anything)."""
    if cfg.shocks:
        check_shock_places(cfg, source_of(cfg).city(cfg))
