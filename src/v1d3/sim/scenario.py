"""Scenarios: a city, one day of orders and a fleet, built from a typed config.

A :class:`ScenarioConfig` plus a :class:`~v1d3.sim.config.SimConfig` and a seed determine a run
completely; both are saved in every run folder and can be loaded back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from v1d3.demand.orders import Orders
from v1d3.demand.synthetic import SyntheticConfig, synthetic_city, synthetic_orders
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.geo.city import City
from v1d3.sim.config import SimConfig
from v1d3.sim.fleet import Fleet, make_fleet

__all__ = ["ScenarioConfig", "Scenario", "build_scenario", "SCENARIOS", "scenario_names"]

MAX_ORDERS = 50_000_000
"""Most orders one simulated day may have (about 50× New York's busiest day)."""
MAX_DRIVERS = 5_000_000
"""Most drivers one simulated day may have."""


@dataclass(frozen=True)
class ScenarioConfig:
    """Which city and which day to simulate."""

    name: str = field(default="manhattan", metadata={"flag": "--scenario"})
    """Scenario name: manhattan, nyc-tlc, synthetic or kdd (see ``v1d3 scenarios``)."""
    weekday: int = 2
    """Day of week, Monday = 0."""
    orders: int | None = None
    """Daily order volume (None = the scenario's real or default volume)."""
    drivers: int | None = None
    """Drivers in the day's fleet (None = the scenario's calibrated default)."""
    fleet_scale: float = 1.0
    """Multiplier of the scenario's calibrated default fleet (dimensionless; 1.1 = 10 % more
    drivers on every day, whatever its volume). Ignored when ``drivers`` is given."""
    start_hour: float = 0.0
    """Start of the simulated horizon, hours after midnight."""
    hours: float = 24.0
    """Length of the simulated horizon, hours."""
    h3_resolution: int = 8
    """H3 resolution of the cells (8: edge ≈ 460 m)."""
    trips: str | None = None
    """nyc-tlc: trip-record parquet file to replay (None = the shipped March 2021 green taxis)."""
    date: str | None = None
    """nyc-tlc: day to replay, YYYY-MM-DD (None = the first day of ``weekday`` in the file)."""
    grid: str | None = None
    """kdd: KDD Cup 2020 hexagon grid table (CSV, no header)."""
    kdd_orders: str | None = None
    """kdd: KDD Cup 2020 orders file (CSV, no header); None = synthetic demand on the grid."""
    zone_day_sd: float = 0.0
    """manhattan: day-to-day variation of each pick-up zone's demand, the standard deviation of
    the log of a per-day zone multiplier (0 = every day is the weekday's average; at most 2).
    NYC TLC green-taxi records show, beyond Poisson noise, 0.04 among the business days of
    March 2021 and 0.15 over January–March 2021 with its snow storms
    (scripts/zone_day_variation.py)."""
    synthetic: SyntheticConfig = field(
        default_factory=SyntheticConfig, metadata={"prefix": "synthetic-"}
    )
    """synthetic and kdd without orders: the synthetic city and its demand."""

    def __post_init__(self) -> None:
        check_fields(self, "scenario config")
        if self.name not in SCENARIOS:
            raise ConfigError(
                f"unknown scenario {self.name!r}; expected one of {', '.join(scenario_names())}"
            )
        if not 0 <= self.weekday <= 6:
            raise ConfigError(f"weekday must be 0 (Monday) .. 6, got {self.weekday}")
        if self.orders is not None and not 0 < self.orders <= MAX_ORDERS:
            raise ConfigError(f"orders must be in 1..{MAX_ORDERS:,}, got {self.orders}")
        if self.drivers is not None and not 0 < self.drivers <= MAX_DRIVERS:
            raise ConfigError(f"drivers must be in 1..{MAX_DRIVERS:,}, got {self.drivers}")
        if not 0 < self.fleet_scale <= 100:
            raise ConfigError(f"fleet_scale must be in (0, 100], got {self.fleet_scale}")
        if not 0 <= self.start_hour < 24:
            raise ConfigError(f"start_hour must be in [0, 24), got {self.start_hour}")
        if not 0 < self.hours <= 24:
            raise ConfigError(f"hours must be in (0, 24], got {self.hours}")
        if not 0 <= self.zone_day_sd <= 2:
            raise ConfigError(f"zone_day_sd must be in [0, 2], got {self.zone_day_sd}")
        if not 0 <= self.h3_resolution <= 15:
            raise ConfigError(f"h3_resolution must be 0..15, got {self.h3_resolution}")

    @property
    def window_s(self) -> tuple[float, float]:
        """The simulated window, seconds after midnight: ``start_hour`` to ``start_hour +
        hours``, cut at midnight."""
        start_s = self.start_hour * 3600.0
        return start_s, min(start_s + self.hours * 3600.0, 24 * 3600.0)


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


@dataclass(frozen=True)
class DemandDay:
    """What a scenario source returns: the city, the day's orders and defaults."""

    city: City
    orders: Orders
    default_drivers: int
    epoch_s: float = 0.0
    weekday: int | None = None
    """The day's real weekday when the source has a calendar date (overrides the config's)."""


Source = Callable[[ScenarioConfig, np.random.Generator], DemandDay]


def _synthetic(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    city = synthetic_city(cfg.synthetic, cfg.h3_resolution)
    n = cfg.orders if cfg.orders is not None else cfg.synthetic.default_orders
    orders = synthetic_orders(cfg.synthetic, city, n, rng)
    # about 36 drivers per 1,000 daily orders: `distance` answers ~78 % (supply-constrained)
    return DemandDay(city, orders, default_drivers=max(1, int(round(n * 0.036))))


def _manhattan(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    from v1d3.demand.manhattan import manhattan_day

    return manhattan_day(cfg, rng)


def _nyc_tlc(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    from v1d3.demand.tlc import tlc_day

    return tlc_day(cfg, rng)


def _kdd(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    from v1d3.kddcup.city import kdd_day

    return kdd_day(cfg, rng)


SCENARIOS: dict[str, tuple[Source, str]] = {
    "manhattan": (
        _manhattan,
        "Real 2018 Manhattan demand (origin-destination by weekday and 15 minutes), zone speeds, "
        "NYC meter fares. The default.",
    ),
    "nyc-tlc": (
        _nyc_tlc,
        "Replay of real NYC TLC trip records (shipped: green taxis, March 2021).",
    ),
    "synthetic": (_synthetic, "A parametric hexagonal city with hotspots and rush hours."),
    "kdd": (_kdd, "A city on a KDD Cup 2020 hexagon grid (--grid), KDD orders or synthetic."),
}


def scenario_names() -> list[str]:
    return list(SCENARIOS)


def build_scenario(cfg: ScenarioConfig, sim: SimConfig, seed: int) -> Scenario:
    """Draw the scenario's day for ``seed``: same config and seed → the same orders and fleet."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    ss = np.random.SeedSequence([seed, cfg.weekday, 0x5CE])
    rng_demand, rng_fleet = (np.random.default_rng(s) for s in ss.spawn(2))
    source, _ = SCENARIOS[cfg.name]
    day = source(cfg, rng_demand)
    start_s, end_s = cfg.window_s
    orders = day.orders.window(start_s, end_s)
    default = day.default_drivers * cfg.fleet_scale
    n_drivers = cfg.drivers if cfg.drivers is not None else max(1, int(round(default)))
    if cfg.hours < 24 and cfg.drivers is None and sim.shift_mean_h > 0:
        # keep the online density of the full day: a driver anchored to demand at time t covers
        # one shift around t, so online(t) ≈ fleet × demand share per hour × shift length
        share = len(orders) / max(len(day.orders), 1)
        per_hour = share / cfg.hours
        n_drivers = max(1, int(round(default * per_hour * sim.shift_mean_h)))
    fleet = make_fleet(n_drivers, orders, start_s, end_s, sim, rng_fleet)
    o_cell = day.city.cell_of(orders.o_lat, orders.o_lng)
    d_cell = day.city.cell_of(orders.d_lat, orders.d_lng)
    return Scenario(
        config=cfg,
        sim=sim,
        city=day.city,
        orders=orders,
        fleet=fleet,
        weekday=day.weekday if day.weekday is not None else cfg.weekday,
        start_s=start_s,
        end_s=end_s,
        o_cell=o_cell,
        d_cell=d_cell,
        epoch_s=day.epoch_s,
    )
