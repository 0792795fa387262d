"""Random shock days (``ScenarioConfig.random_shocks``, ``--shocks random``).

:func:`draw_shocks` draws a day's shocks from :data:`RANDOM_SHOCKS` with the generator of
``(seed, weekday)`` (``ShockBranch.DRAW`` of :func:`v1d3.sim.seeds.shock_rng`): the draw depends
on the scenario and the seed alone, never on the policy, so every policy of a study meets the
same shock days (common random numbers). ``docs/simulation.md`` ("Shocks") gives the
distribution with the sources of its magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.shocks import ClosureShock, EventShock, Shock, SupplyShock, WeatherShock
from v1d3.geo.city import City
from v1d3.sim.seeds import ShockBranch, shock_rng

__all__ = ["RandomShocks", "RANDOM_SHOCKS", "draw_shocks"]


@dataclass(frozen=True)
class RandomShocks:
    """The distribution of a random shock day (one source of truth: docs/simulation.md cites
    these values)."""

    events_per_day: float = 1.0
    """Mean number of events a day (Poisson), events."""
    event_trips: tuple[float, float] = (1000.0, 3000.0)
    """Range of an event's extra trips on a day of ``reference_orders`` (uniform), orders."""
    event_h: float = 1.0
    """Length of an event's window, hours."""
    event_from: float = 0.8
    """Share of events whose trips leave the venue (the rest reach it)."""
    venues: tuple[str, ...] = (
        "Penn Station/Madison Sq West",
        "Lincoln Square East",
        "Times Sq/Theatre District",
        "Central Park",
    )
    """Zones an event is held in, when the city has them (else a random zone or cell)."""
    reference_orders: float = 455_000.0
    """Daily orders the event sizes are for (a Manhattan Wednesday); sizes scale with the day's."""
    rain_p: float = 0.33
    """Probability of rain on a day (about a third of days in Central Park have measurable
    precipitation, NOAA's climate normals)."""
    rain_demand: tuple[float, float] = (1.0, 1.1)
    """Range of rain's demand multiplier (uniform; Farber 2015: taxi occupancy +4.8 % in rain)."""
    rain_speed: tuple[float, float] = (0.9, 1.0)
    """Range of rain's speed multiplier (uniform; an assumption)."""
    rain_drivers: tuple[float, float] = (0.9, 0.95)
    """Range of the drivers multiplier over the rain's window (uniform; Farber 2015: taxi
    supply −7.1 % in rain), a supply shock drawn with it."""
    rain_h: tuple[float, float] = (1.0, 6.0)
    """Range of the rain's window length (uniform), hours."""
    snow_p: float = 0.03
    """Probability of a snow storm on a day (an assumption: about one business day in thirty
    over a year)."""
    snow_demand: tuple[float, float] = (0.34, 0.9)
    """Range of a snow storm's demand multiplier (uniform; the NYC TLC green-taxi day after
    the storm of 2021-02-01 had 0.34 of a median day; the storm day itself, 0.09, is left to
    a staged shock)."""
    snow_speed: tuple[float, float] = (0.93, 1.0)
    """Range of its speed multiplier (uniform; 0.93 on the storm day of 2021-02-01)."""
    snow_h: tuple[float, float] = (6.0, 12.0)
    """Range of its window length (uniform), hours."""
    supply_p: float = 0.1
    """Probability of a supply drop on a day."""
    supply_drivers: tuple[float, float] = (0.7, 0.95)
    """Range of its drivers multiplier (uniform)."""
    supply_h: tuple[float, float] = (2.0, 4.0)
    """Range of its window's length (uniform), hours."""
    closure_p: float = 0.05
    """Probability of a closure on a day (cities with zones only)."""
    closure_slowdown: tuple[float, float] = (1.2, 2.0)
    """Range of its slowdown (uniform)."""
    closure_h: tuple[float, float] = (2.0, 6.0)
    """Range of its window's length (uniform), hours."""


RANDOM_SHOCKS = RandomShocks()
"""The distribution ``--shocks random`` draws from."""


def _window(
    rng: np.random.Generator, lo: float, hi: float, length: tuple[float, float] | float
) -> tuple[float, float] | None:
    """A window of the drawn length (cut to the horizon) placed uniformly in ``[lo, hi]``,
    hours rounded to the minute but kept inside ``[lo, hi]``; None when the horizon is too short
    for one (its start rounds to ``hi``): that shock is left out."""
    span = float(rng.uniform(*length)) if isinstance(length, tuple) else float(length)
    span = min(span, hi - lo)
    start = lo + float(rng.random()) * (hi - lo - span)
    a = max(round(start * 60) / 60, lo)
    b = min(round((start + span) * 60) / 60, hi)
    if b <= a:
        b = min(a + 1 / 60, hi)
    return (a, b) if a < b else None


def _venue(rng: np.random.Generator, city: City, dist: RandomShocks) -> dict[str, object]:
    """Where an event is held: a venue zone, a random zone, or a random cell's centre."""
    u = float(rng.random())
    if city.zones is None:
        c = int(u * city.n_cells)
        return {"lat": float(city.cell_lat[c]), "lng": float(city.cell_lng[c])}
    names = [v for v in dist.venues if v in city.zones.names] or list(city.zones.names)
    return {"zone": names[int(u * len(names))]}


def _weather(
    rng: np.random.Generator, lo: float, hi: float, rain: bool, snow: bool, dist: RandomShocks
) -> list[Shock]:
    """A day's rain (more demand, slower traffic, fewer drivers over its window) and snow
    storm (less demand, slower traffic), each when drawn."""
    out: list[Shock] = []
    if rain:
        w = _window(rng, lo, hi, dist.rain_h)
        k = round(float(rng.uniform(*dist.rain_demand)), 3)
        s = round(float(rng.uniform(*dist.rain_speed)), 3)
        d = round(float(rng.uniform(*dist.rain_drivers)), 3)
        if w is not None:
            out.append(WeatherShock(start_h=w[0], end_h=w[1], demand=k, speed=s))
            out.append(SupplyShock(start_h=w[0], end_h=w[1], drivers=d))
    if snow:
        w = _window(rng, lo, hi, dist.snow_h)
        k = round(float(rng.uniform(*dist.snow_demand)), 3)
        s = round(float(rng.uniform(*dist.snow_speed)), 3)
        if w is not None:
            out.append(WeatherShock(start_h=w[0], end_h=w[1], demand=k, speed=s))
    return out


def draw_shocks(
    cfg: ScenarioConfig, city: City, day_orders: int, seed: int, dist: RandomShocks = RANDOM_SHOCKS
) -> tuple[Shock, ...]:
    """The random shocks of ``(seed, cfg.weekday)`` on the scenario's horizon: events, then
    rain (with its drop in supply), a snow storm, a supply drop and a closure, each with its
    probability. ``day_orders``: the
    day's volume without shocks (event sizes scale with it). A shock whose window cannot fit a
    horizon that short (under a minute) is drawn but left out."""
    rng = shock_rng(seed, cfg.weekday, ShockBranch.DRAW)
    lo = cfg.start_hour
    hi = min(cfg.start_hour + cfg.hours, 24.0)
    out: list[Shock] = []
    scale = day_orders / dist.reference_orders
    for _ in range(int(rng.poisson(dist.events_per_day))):
        w = _window(rng, lo, hi, dist.event_h)
        trips = max(1, int(round(rng.uniform(*dist.event_trips) * scale)))
        direction = "from" if rng.random() < dist.event_from else "to"
        place = _venue(rng, city, dist)
        if w is not None:
            a, b = w
            out.append(EventShock(start_h=a, end_h=b, trips=trips, direction=direction, **place))  # type: ignore[arg-type]
    u_rain, u_snow, u_supply, u_closure = rng.random(4)
    out += _weather(rng, lo, hi, u_rain < dist.rain_p, u_snow < dist.snow_p, dist)
    if u_supply < dist.supply_p:
        w = _window(rng, lo, hi, dist.supply_h)
        k = round(float(rng.uniform(*dist.supply_drivers)), 3)
        if w is not None:
            out.append(SupplyShock(start_h=w[0], end_h=w[1], drivers=k))
    if u_closure < dist.closure_p and city.zones is not None:
        w = _window(rng, lo, hi, dist.closure_h)
        zone = city.zones.names[int(rng.random() * len(city.zones.names))]
        k = round(float(rng.uniform(*dist.closure_slowdown)), 3)
        if w is not None:
            out.append(ClosureShock(start_h=w[0], end_h=w[1], zones=(zone,), slowdown=k))
    return tuple(out)
