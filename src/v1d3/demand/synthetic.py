"""A parametric hexagonal city made in memory: hotspots, rush hours, distance-based fares.

Fast and self-contained, for tests and experiments. The city is an H3 disk around a centre
point; demand is a mixture of uniform background trips and trips from/to a few hotspots, with
morning and evening peaks.
"""

from __future__ import annotations

import h3
import numpy as np

from v1d3.demand.config import ScenarioConfig, SyntheticConfig
from v1d3.demand.fares import DistanceTimeFare
from v1d3.demand.orders import Orders
from v1d3.demand.source import DemandDay, weekday_cycle
from v1d3.errors import ConfigError
from v1d3.geo.city import City, h3_city
from v1d3.geo.travel import ConstantSpeed

__all__ = [
    "SyntheticSource",
    "synthetic_city",
    "synthetic_orders",
    "synthetic_day",
]

DRIVERS_PER_ORDER = 0.040
"""Default fleet per daily order (shifts drawn): `distance` answers about 78 % of a default
day's orders, the supply-constrained regime (docs/results/tuning.md §7)."""


def synthetic_city(cfg: SyntheticConfig, resolution: int) -> City:
    centre = h3.latlng_to_cell(cfg.centre_lat, cfg.centre_lng, resolution)
    cells = h3.grid_disk(centre, cfg.rings)
    return h3_city("synthetic", cells, ConstantSpeed(cfg.speed_mps, cfg.detour))


def _intensity(cfg: SyntheticConfig, hours: np.ndarray) -> np.ndarray:
    lam = np.ones_like(hours)
    for peak in cfg.rush_hours:
        lam = lam + cfg.rush_gain * np.exp(-0.5 * ((hours - peak) / cfg.rush_width_h) ** 2)
    # quiet nights
    return lam * (0.35 + 0.65 / (1 + np.exp(-(hours - 5.5) * 1.5)))


def synthetic_orders(cfg: SyntheticConfig, city: City, n: int, rng: np.random.Generator) -> Orders:
    """``n`` orders over one day (the caller keeps the horizon's window)."""
    if n < 0:
        raise ConfigError(f"orders must be >= 0, got {n}")
    # request times: inverse CDF of the intensity on a one-minute grid
    grid = np.arange(0, 24 * 60 + 1) / 60.0
    lam = _intensity(cfg, grid[:-1])
    cdf = np.concatenate(([0.0], np.cumsum(lam)))
    cdf /= cdf[-1]
    t = np.sort(np.interp(rng.random(n), cdf, grid) * 3600.0)

    # hotspots: fixed per city (the city's geometry, not the day's randomness)
    hs_rng = np.random.default_rng(cfg.rings * 7919 + cfg.hotspots)
    hs = hs_rng.choice(city.n_cells, size=min(cfg.hotspots, city.n_cells), replace=False)

    def ends() -> tuple[np.ndarray, np.ndarray]:
        near = rng.random(n) < cfg.hotspot_share if hs.size else np.zeros(n, dtype=bool)
        which = rng.integers(0, max(hs.size, 1), size=n)
        base = rng.integers(0, city.n_cells, size=n)
        cell = np.where(near, hs[which] if hs.size else base, base)
        spread = np.where(near, cfg.hotspot_sd_m, 0.6 * city.edge_m)
        x = city.cell_x[cell] + rng.normal(0, 1, n) * spread
        y = city.cell_y[cell] + rng.normal(0, 1, n) * spread
        return x, y

    ox, oy = ends()
    dx, dy = ends()
    if cfg.commute > 0 and hs.size and cfg.rush_hours:
        # commuters: into the hotspots at the first rush, out of them at the last
        h = t / 3600.0
        am, pm = min(cfg.rush_hours), max(cfg.rush_hours)
        u = rng.random(n)
        inward = u < cfg.commute * np.exp(-0.5 * ((h - am) / cfg.rush_width_h) ** 2)
        outward = ~inward & (
            1 - u < cfg.commute * np.exp(-0.5 * ((h - pm) / cfg.rush_width_h) ** 2)
        )
        home_cell = rng.integers(0, city.n_cells, size=n)
        home_x = city.cell_x[home_cell] + rng.normal(0, 1, n) * 0.6 * city.edge_m
        home_y = city.cell_y[home_cell] + rng.normal(0, 1, n) * 0.6 * city.edge_m
        hub = hs[rng.integers(0, hs.size, size=n)]
        hub_x = city.cell_x[hub] + rng.normal(0, 1, n) * cfg.hotspot_sd_m
        hub_y = city.cell_y[hub] + rng.normal(0, 1, n) * cfg.hotspot_sd_m
        ox = np.where(inward, home_x, np.where(outward, hub_x, ox))
        oy = np.where(inward, home_y, np.where(outward, hub_y, oy))
        dx = np.where(inward, hub_x, np.where(outward, home_x, dx))
        dy = np.where(inward, hub_y, np.where(outward, home_y, dy))
    # keep trips at least 500 m long
    short = np.hypot(dx - ox, dy - oy) < 500
    ang = rng.random(n) * 2 * np.pi
    dx = np.where(short, ox + 1500 * np.cos(ang), dx)
    dy = np.where(short, oy + 1500 * np.sin(ang), dy)
    travel = ConstantSpeed(cfg.speed_mps, cfg.detour)
    trip_m = travel.road_m(ox, oy, dx, dy)
    trip_s = trip_m / cfg.speed_mps
    o_lat, o_lng = city.proj.to_latlng(ox, oy)
    d_lat, d_lng = city.proj.to_latlng(dx, dy)
    fare = DistanceTimeFare()(trip_m, trip_s)
    return Orders(
        t_request=t,
        o_lat=np.asarray(o_lat),
        o_lng=np.asarray(o_lng),
        d_lat=np.asarray(d_lat),
        d_lng=np.asarray(d_lng),
        trip_s=trip_s,
        trip_m=trip_m,
        fare=fare,
        o_zone=np.full(n, -1, dtype=np.int32),
        d_zone=np.full(n, -1, dtype=np.int32),
        source_id=np.arange(n, dtype=np.int64),
    )


def synthetic_day(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    """The ``synthetic`` source's day: ``cfg.orders`` (default: ``cfg.synthetic.default_orders``)
    over the city of ``cfg.synthetic``."""
    city = synthetic_city(cfg.synthetic, cfg.h3_resolution)
    n = cfg.orders if cfg.orders is not None else cfg.synthetic.default_orders
    orders = synthetic_orders(cfg.synthetic, city, n, rng)
    return DemandDay(city, orders, default_drivers=max(1, int(round(n * DRIVERS_PER_ORDER))))


class SyntheticSource:
    """The ``synthetic`` scenario (:class:`~v1d3.demand.source.DemandSource`)."""

    def describe(self) -> str:
        return "A parametric hexagonal city with hotspots and rush hours."

    def city(self, cfg: ScenarioConfig) -> City:
        return synthetic_city(cfg.synthetic, cfg.h3_resolution)

    def day(self, cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
        return synthetic_day(cfg, rng)

    def history(self, cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
        return weekday_cycle(cfg, days)
