"""The ``manhattan`` scenario: real 2018 Manhattan demand, zone speeds and meter fares.

Orders are drawn from the 2018 origin–destination table (trip counts by weekday, 15-minute slot,
pick-up zone and drop-off zone; business days only) with a chosen daily volume — by default the
weekday's average day, its yearly total over the 50 business weeks of 2018 (≈455,000 orders on a
Wednesday). Request times are uniform inside their slot; origins and destinations are uniform
inside the real taxi-zone polygons. The trip's road distance is the city-block (L1) distance on
the street grid (rotated 29°), its speed is drawn from the zone pair's observed speed in that slot
(mean ± standard deviation, clipped to 1–60 mph), and the fare follows the 2018 meter
(:class:`v1d3.demand.fares.NYCMeter2018`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import h3
import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.fares import NYCMeter2018
from v1d3.demand.orders import MIN_TRIP_S, Orders
from v1d3.demand.real_days import DayDeparture, check_like_date, draw_real_day
from v1d3.demand.source import DemandDay, weekday_cycle
from v1d3.errors import ConfigError
from v1d3.geo.city import City, h3_city
from v1d3.geo.polygons import Zones, load_zones, sample_points_in_zones
from v1d3.geo.travel import ZoneSpeedTable
from v1d3.sim.seeds import real_day_rng

__all__ = [
    "ManhattanData",
    "ManhattanSource",
    "load_manhattan",
    "manhattan_city",
    "manhattan_orders",
    "manhattan_day",
    "day_departure",
]

BUSINESS_WEEKS_2018 = 50
"""Business days per weekday in 2018 (≈50), the divisor from yearly totals to an average day."""
DRIVERS_PER_ORDER = 0.0264
"""Default fleet per daily order (shifts drawn), calibrated so that ``distance`` answers 78–82 %
of orders over the study's weekdays (docs/simulation.md, Scenarios)."""
MPH = 1609.344 / 3600.0


def _data_dir() -> Path:
    return Path(str(resources.files("v1d3") / "data"))


class ManhattanData:
    """The shipped tables: trips[weekday, slot, pu, do], speeds[slot, pu, do] and zones."""

    def __init__(self) -> None:
        with np.load(_data_dir() / "manhattan_od.npz") as z:
            self.zone_ids = z["zone_ids"].astype(np.int64)
            self.trips = z["trips"]
            self.speed_mean = z["speed_mean_mps"].astype(np.float64)
            self.speed_std = z["speed_std_mps"].astype(np.float64)
        self.zones: Zones = load_zones(_data_dir() / "manhattan_zones.json")
        if not np.array_equal(self.zones.ids, self.zone_ids):
            raise ConfigError("manhattan data: zone order of the OD table and polygons differ")

    def daily_volume(self, weekday: int) -> int:
        """The weekday's average daily order count."""
        return int(round(self.trips[weekday].sum(dtype=np.int64) / BUSINESS_WEEKS_2018))


@lru_cache(maxsize=1)
def load_manhattan() -> ManhattanData:
    return ManhattanData()


@lru_cache(maxsize=4)
def manhattan_city(resolution: int) -> City:
    """H3 cells of one resolution covering every Manhattan zone, with the zone-speed travel."""
    data = load_manhattan()
    cells: set[str] = set()
    for rings in data.zones.rings:
        outer = [(float(lat), float(lng)) for lng, lat in rings[0]]
        holes = [[(float(lat), float(lng)) for lng, lat in r] for r in rings[1:]]
        poly = h3.LatLngPoly(outer, *holes)
        cells.update(h3.h3shape_to_cells_experimental(poly, resolution, contain="overlap"))
    travel = ZoneSpeedTable(speed_mps=data.speed_mean)
    return h3_city("manhattan", sorted(cells), travel=travel, zones=data.zones)


def manhattan_orders(
    weekday: int,
    n: int | None,
    rng: np.random.Generator,
    data: ManhattanData | None = None,
    zone_day_sd: float = 0.0,
    departure: DayDeparture | None = None,
) -> Orders:
    """One day of orders drawn from the OD table of ``weekday`` (Monday = 0 … Friday = 4).

    ``zone_day_sd`` > 0 makes the day differ from the weekday's average the way real days do:
    each pick-up zone's demand is multiplied by its own ``exp(N(0, zone_day_sd²))`` for the day
    (the total stays ``n``). ``departure``: a real date's measured departure, its hour and zone
    multipliers applied to the table's slots and pick-up zones (``n`` is the caller's: see
    :func:`manhattan_day`).
    """
    data = data or load_manhattan()
    if not 0 <= weekday <= 4:
        raise ConfigError(
            f"weekday {weekday}: the Manhattan table covers business days only (0 = Monday .. 4)"
        )
    if not zone_day_sd >= 0:
        raise ConfigError(f"zone_day_sd must be >= 0, got {zone_day_sd}")
    n = data.daily_volume(weekday) if n is None else int(n)
    table = data.trips[weekday].astype(np.float64)
    if zone_day_sd > 0:
        table = table * np.exp(zone_day_sd * rng.standard_normal(table.shape[1]))[None, :, None]
    if departure is not None:
        table = table * departure.slot_factors(table.shape[0])[:, None, None]
        table = table * departure.zone_factors(data.zone_ids)[None, :, None]
    p = table.ravel()
    p /= p.sum()
    counts = rng.multinomial(n, p)
    flat = np.repeat(np.arange(p.size), counts)
    slot, pu, do = np.unravel_index(flat, table.shape)
    t = slot * 900.0 + rng.random(n) * 900.0
    order = np.argsort(t, kind="stable")
    t, slot, pu, do = t[order], slot[order], pu[order], do[order]
    o_lat, o_lng = sample_points_in_zones(pu, data.zones, rng)
    d_lat, d_lng = sample_points_in_zones(do, data.zones, rng)
    city = manhattan_city(8)
    ox, oy = city.proj.to_xy(o_lat, o_lng)
    dx, dy = city.proj.to_xy(d_lat, d_lng)
    travel: ZoneSpeedTable = city.travel  # type: ignore[assignment]
    trip_m = travel.road_m(ox, oy, dx, dy)
    speed = data.speed_mean[slot, pu, do] + rng.standard_normal(n) * data.speed_std[slot, pu, do]
    speed = np.clip(speed, 1 * MPH, 60 * MPH)
    trip_s = np.maximum(trip_m / speed, MIN_TRIP_S)
    fare = NYCMeter2018()(trip_m, trip_s)
    return Orders(
        t_request=t,
        o_lat=o_lat,
        o_lng=o_lng,
        d_lat=d_lat,
        d_lng=d_lng,
        trip_s=trip_s,
        trip_m=trip_m,
        fare=fare,
        o_zone=pu.astype(np.int32),
        d_zone=do.astype(np.int32),
        source_id=np.arange(n, dtype=np.int64),
    )


def day_departure(
    cfg: ScenarioConfig, rng: np.random.Generator
) -> tuple[DayDeparture | None, np.random.Generator | None]:
    """The real date the day is like — ``like_date``'s, or one of the weekday's dates drawn by
    the real-day stream of the demand generator (``real_days``; the demand draws are untouched)
    — and the generator of the average day its fleet is planned for; (None, None) for a day
    that is the weekday's average."""
    m = cfg.manhattan
    if m.like_date is None and not m.real_days:
        return None, None
    date_rng, plan_rng = real_day_rng(rng)
    if m.like_date is not None:
        return check_like_date(m.like_date), plan_rng
    return draw_real_day(cfg.weekday, date_rng), plan_rng


def manhattan_day(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    """The ``manhattan`` source's day: ``cfg.orders`` (default: the weekday's average volume)
    drawn for ``cfg.weekday``, each zone varied by ``cfg.manhattan.zone_day_sd``.

    Like a real date (``real_days``, ``like_date``): the date's weekday, its measured hour and
    zone departures and, when ``cfg.orders`` is not given, its volume. The fleet is planned for
    the weekday's average day (its size, and the day it is fitted to, :attr:`DemandDay.plan`):
    the day's departure is what the platform meets, not what its drivers expected."""
    data = load_manhattan()
    city = manhattan_city(cfg.h3_resolution)
    dep, plan_rng = day_departure(cfg, rng)
    weekday = cfg.weekday if dep is None else dep.weekday
    average = data.daily_volume(weekday) if cfg.orders is None else cfg.orders
    n = average if dep is None or cfg.orders is not None else dep.volume_of(average)
    orders = manhattan_orders(weekday, n, rng, data, cfg.manhattan.zone_day_sd, dep)
    plan = None
    if plan_rng is not None:
        plan = manhattan_orders(weekday, average, plan_rng, data)
    return DemandDay(
        city,
        orders,
        default_drivers=int(round(average * DRIVERS_PER_ORDER)),
        weekday=None if dep is None else dep.weekday,
        like_date=None if dep is None else dep.date,
        plan=plan,
    )


class ManhattanSource:
    """The ``manhattan`` scenario (:class:`~v1d3.demand.source.DemandSource`)."""

    def describe(self) -> str:
        return (
            "Real 2018 Manhattan demand (origin-destination by weekday and 15 minutes), zone "
            "speeds, NYC meter fares. The default."
        )

    def city(self, cfg: ScenarioConfig) -> City:
        return manhattan_city(cfg.h3_resolution)

    def day(self, cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
        return manhattan_day(cfg, rng)

    def history(self, cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
        return weekday_cycle(cfg, days)
