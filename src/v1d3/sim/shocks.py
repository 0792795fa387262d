"""Shocks applied to a drawn day: extra or fewer orders, drivers off or on, slower travel.

:func:`stage_shocks` takes the day as drawn without shocks — its orders, its fleet (drawn from
those orders, so a shock never reshuffles the drivers) and its city — and applies the shocks,
each with its own generator (:func:`v1d3.sim.seeds.shock_rng`), in phases that make the day
independent of the order they are listed in. What lies outside a shock's
window and place is left as it was: orders are added, removed or slowed only inside it, drivers
go off or come on only for it, and the travel model multiplies times only there. The orders and
drivers a shock adds draw their cancellations and idle moves from the shocks' own stream
(:class:`ShockedDay` tells the simulator which they are), so every other draw of the run is
the one it has without the shock. ``docs/simulation.md`` ("Shocks") describes each mechanism.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import MIN_TRIP_S, Orders
from v1d3.demand.shocks import ClosureShock, EventShock, Shock, SupplyShock, WeatherShock
from v1d3.errors import ConfigError
from v1d3.geo.city import City
from v1d3.geo.polygons import sample_points_in_zones, zone_of_points
from v1d3.geo.projection import jitter_latlng
from v1d3.geo.travel import ScaledTravel, TravelFactor
from v1d3.sim.config import SimConfig
from v1d3.sim.fleet import Fleet, near_origins
from v1d3.sim.seeds import ShockBranch, shock_rng
from v1d3.text_files import json_text

__all__ = ["ShockedDay", "stage_shocks", "check_shock_places", "shock_place"]

_JITTER_M = 100.0
"""Spread (per axis) of an added order's ends around the donor trip's, metres."""
_DONOR_RADIUS_M = 1000.0
"""Trips within this distance of an event's point (or 3 × its radius) are its donors, metres."""
_MAX_POINT_KM = 3.0
"""How far from the city's nearest cell an event's point may lie, kilometres."""


@dataclass(frozen=True, eq=False)
class ShockedDay:
    """What the shocks did to a day, for the simulator (which orders and drivers are added) and
    for the run's record (``log_meta.json``'s ``shocks``)."""

    shocks: tuple[Shock, ...]
    """Every shock applied, as listed: the staged ones, then the drawn ones (the order they
    are listed in does not change what they do)."""
    drawn: int
    """How many of them (the last ones) were drawn at random."""
    effects: tuple[dict[str, Any], ...]
    """Per shock: orders added and removed, drivers added (rows after the day's own), and its
    place (latitude, longitude; None when city-wide)."""
    order_base: np.ndarray = field(repr=False)
    """Per order, its index among the day's orders without shocks, or -1 for an added one."""
    n_base_orders: int
    """Orders of the day without shocks."""
    n_base_drivers: int
    """Drivers of the day without shocks (the first rows of the fleet)."""

    def meta(self) -> list[dict[str, Any]]:
        """The shocks as JSON mappings (``kind`` and fields), each with its effects and whether
        it was drawn."""
        first_drawn = len(self.shocks) - self.drawn
        return [
            {**dataclasses.asdict(s), **e, "drawn": i >= first_drawn}
            for i, (s, e) in enumerate(zip(self.shocks, self.effects, strict=True))
        ]

    def cancel_uniforms(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The run's cancellation uniform of each order: ``base`` (one per order without shocks)
        where it has one, a draw of ``rng`` for each added order."""
        out = np.empty(self.order_base.size)
        kept = self.order_base >= 0
        out[kept] = base[self.order_base[kept]]
        out[~kept] = rng.random(int((~kept).sum()))
        return out


@dataclass(eq=False)
class _Day:
    """The day while shocks are applied to it."""

    orders: Orders
    canon: np.ndarray
    """Per order, its row in a fixed order: ``i`` for the day's own order ``i``, then the added
    ones as the shocks (in :func:`_steps`' order) added them."""
    fleet: Fleet
    factors: list[TravelFactor]


@dataclass(frozen=True, eq=False)
class _Step:
    """One shock to apply: its place in the list, its name in messages and its generator."""

    i: int
    shock: Shock
    where: str
    rng: np.random.Generator

    @property
    def window_s(self) -> tuple[float, float]:
        return self.shock.start_h * 3600.0, self.shock.end_h * 3600.0


def _where(i: int, drawn: bool) -> str:
    return f"random shocks[{i}]" if drawn else f"shocks[{i}]"


def _where_in(cfg: ScenarioConfig, i: int) -> str:
    """The name of shock ``i`` of the staged ones followed by the drawn ones."""
    n = len(cfg.shocks)
    return _where(i - n, True) if i >= n else _where(i, False)


def zone_index(city: City, ref: str, where: str) -> int:
    """The zone index of a zone name (any case) or id; ConfigError naming ``where`` if none."""
    zones = city.zones
    if zones is None:
        raise ConfigError(f"{where}: the {city.name} city has no zones; give a point (lat, lng)")
    key = ref.strip().lower()
    names = {n.lower(): i for i, n in enumerate(zones.names)}
    if key in names:
        return names[key]
    if key.isdigit() and np.any(zones.ids == int(key)):
        return int(np.flatnonzero(zones.ids == int(key))[0])
    raise ConfigError(
        f"{where}: unknown zone {ref!r} in {city.name}; expected a zone name or id "
        f"such as {zones.names[0]!r} ({len(zones.names)} zones)"
    )


def _zone_mask(city: City, refs: tuple[str, ...], where: str) -> np.ndarray | None:
    """Whether each zone index is one of ``refs`` (with False last, for zone -1); None when
    ``refs`` is empty (the whole city)."""
    if not refs:
        return None
    idx = [zone_index(city, r, where) for r in refs]
    assert city.zones is not None
    mask = np.zeros(len(city.zones.ids) + 1, dtype=bool)
    mask[idx] = True
    return mask


def shock_place(city: City, shock: Shock, where: str) -> tuple[float, float] | None:
    """Latitude and longitude of the shock's place (an event's point or zone centroid, the first
    zone of a weather or closure shock), None when it is city-wide; checks its zones."""
    if isinstance(shock, EventShock):
        if shock.zone is not None:
            z = zone_index(city, shock.zone, f"{where}.zone")
            assert city.zones is not None
            lng, lat = city.zones.centroid[z]
            return float(lat), float(lng)
        assert shock.lat is not None and shock.lng is not None
        x, y = city.proj.to_xy(np.array([shock.lat]), np.array([shock.lng]))
        c = city.cell_of_xy(x, y)
        km = float(np.hypot(city.cell_x[c] - x, city.cell_y[c] - y)[0]) / 1000.0
        if km > _MAX_POINT_KM:
            raise ConfigError(
                f"{where}.lat: the point ({shock.lat}, {shock.lng}) is {km:.1f} km from the "
                f"{city.name} city's nearest cell (at most {_MAX_POINT_KM:g})"
            )
        return shock.lat, shock.lng
    zones = getattr(shock, "zones", ())
    if not zones:
        return None
    _zone_mask(city, zones, f"{where}.zones")
    z = zone_index(city, zones[0], f"{where}.zones")
    assert city.zones is not None
    lng, lat = city.zones.centroid[z]
    return float(lat), float(lng)


def check_shock_places(cfg: ScenarioConfig, city: City) -> None:
    """ConfigError naming the field when a staged shock names a zone the city lacks or a point
    outside it (before any run starts)."""
    for i, s in enumerate(cfg.shocks):
        shock_place(city, s, f"shocks[{i}]")


def stage_shocks(
    cfg: ScenarioConfig,
    sim: SimConfig,
    city: City,
    day_orders: Orders,
    orders: Orders,
    fleet: Fleet,
    seed: int,
    drawn: tuple[Shock, ...] = (),
) -> tuple[Orders, City, Fleet, ShockedDay]:
    """The day with the scenario's shocks (and ``drawn``) applied: its orders, its city (a new
    one whose travel model carries the shocks' factors; the given city is not changed), its fleet
    and what the shocks did. ``day_orders``: the whole day's orders without shocks (where added
    trips find their donors); ``orders`` and ``fleet``: the simulated window's.

    The result does not depend on the order the shocks are listed in: each draws from a
    generator keyed by what it is (:func:`_steps`), and they act in phases, each shock of a
    phase in a fixed order — orders added (events, weather ``demand`` > 1, from the day's own),
    then orders removed (weather ``demand`` < 1, then closures, over every order, added ones
    too), then trips slowed (weather ``speed``, closures), then drivers (supply)."""
    shocks = (*cfg.shocks, *drawn)
    effects: list[dict[str, Any]] = []
    for i, shock in enumerate(shocks):  # the zones checked in the listed order
        place = shock_place(city, shock, _where_in(cfg, i))
        effects.append({"added_orders": 0, "removed_orders": 0, "added_drivers": 0,
                        "place": None if place is None else [place[0], place[1]]})  # fmt: skip
    steps = _steps(cfg, drawn, seed, city)
    day = _Day(orders, np.arange(len(orders)), fleet, [])
    _add_orders(day, steps, city, day_orders, orders, effects)
    n_rows = len(orders) + sum(e["added_orders"] for e in effects)
    for st in steps:
        if isinstance(st.shock, WeatherShock) and st.shock.demand < 1:
            effects[st.i]["removed_orders"] = _thin(day, st, city, n_rows)
    for st in steps:
        if isinstance(st.shock, ClosureShock):
            effects[st.i]["removed_orders"] = _close(day, st, city)
    for st in steps:
        if isinstance(st.shock, (WeatherShock, ClosureShock)):
            _slow(day, st, city)
    for st in steps:
        if isinstance(st.shock, SupplyShock):
            n = len(day.fleet)
            _supply(day, st.shock, *st.window_s, sim, st.rng, day_orders)
            effects[st.i]["added_drivers"] = len(day.fleet) - n
    if day.factors:
        zone_at = _zone_at(city) if city.zones is not None else None
        travel = ScaledTravel(city.travel, tuple(day.factors), zone_at)
        city = dataclasses.replace(city, travel=travel)
    shocked = ShockedDay(
        shocks=shocks,
        drawn=len(drawn),
        effects=tuple(effects),
        order_base=np.where(day.canon < len(orders), day.canon, -1),
        n_base_orders=len(orders),
        n_base_drivers=len(fleet),
    )
    return day.orders, city, day.fleet, shocked


def _steps(cfg: ScenarioConfig, drawn: tuple[Shock, ...], seed: int, city: City) -> list[_Step]:
    """The shocks in a fixed order (by what they are), each with its generator: a staged one's
    keyed by what it is (and, for copies of one shock, by which copy it is), so that neither
    depends on where it stands in the list; a drawn one's by its place in the draw."""
    steps: list[_Step] = []
    keys: list[tuple[str, bool, int]] = []
    seen: dict[str, int] = {}
    for i, shock in enumerate((*cfg.shocks, *drawn)):
        is_drawn = i >= len(cfg.shocks)
        j = i - len(cfg.shocks) if is_drawn else i
        text = _identity(shock, city, _where_in(cfg, i))
        copy = seen.get(text, 0)
        seen[text] = copy + 1
        if is_drawn:
            rng = shock_rng(seed, cfg.weekday, ShockBranch.DRAWN, j)
        else:
            digest = hashlib.blake2b(f"{text}#{copy}".encode(), digest_size=8).digest()
            rng = shock_rng(seed, cfg.weekday, ShockBranch.GIVEN, int.from_bytes(digest, "little"))
        steps.append(_Step(i, shock, _where_in(cfg, i), rng))
        keys.append((text, is_drawn, j if is_drawn else copy))
    return [steps[k] for k in sorted(range(len(steps)), key=keys.__getitem__)]


def _identity(shock: Shock, city: City, where: str) -> str:
    """What a shock is, as text: its fields, its zones as the zone indices they name (so that a
    zone written by name or by id, or zones in another order, are the same shock)."""
    d = dataclasses.asdict(shock)
    if d.get("zone") is not None:
        d["zone"] = zone_index(city, d["zone"], f"{where}.zone")
    if d.get("zones"):
        d["zones"] = sorted({zone_index(city, z, f"{where}.zones") for z in d["zones"]})
    return json_text(d, where, sort_keys=True)


def _zone_at(city: City) -> Any:
    def zone_at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return city.zone_of_cells(city.cell_of_xy(np.atleast_1d(x), np.atleast_1d(y)))

    return zone_at


# -- orders


def _in_window(orders: Orders, a: float, b: float) -> np.ndarray:
    return (orders.t_request >= a) & (orders.t_request < b)


def _in_zones(zone: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return np.ones(zone.size, dtype=bool) if mask is None else mask[zone]


def _add_orders(
    day: _Day,
    steps: list[_Step],
    city: City,
    day_orders: Orders,
    orders: Orders,
    effects: list[dict[str, Any]],
) -> None:
    """Add the orders of events and of weather ``demand`` > 1, each drawn from the day's own
    orders (not from those another shock added); counted in ``effects``."""
    new = []
    for st in steps:
        a, b = st.window_s
        if isinstance(st.shock, EventShock):
            more = _event_orders(st.shock, city, day_orders, a, b, st.rng, st.where)
        elif isinstance(st.shock, WeatherShock) and st.shock.demand > 1:
            more = _copies(st.shock, city, orders, a, b, st.rng, st.where)
        else:
            continue
        effects[st.i]["added_orders"] = len(more)
        new.append(more)
    _add(day, new)


def _add(day: _Day, new: list[Orders]) -> None:
    """Add orders (kept sorted by request time, stably: the day's own first at equal times, then
    the added ones in the order given)."""
    n = sum(len(o) for o in new)
    if n == 0:
        return
    o = day.orders
    cols: dict[str, Any] = {}
    for f in dataclasses.fields(o):
        v = getattr(o, f.name)
        parts = [v, *(getattr(w, f.name) for w in new)]
        cols[f.name] = np.concatenate(parts) if isinstance(v, np.ndarray) else v
    first = int(day.canon.max(initial=-1)) + 1
    canon = np.concatenate([day.canon, np.arange(first, first + n, dtype=np.int64)])
    order = np.argsort(cols["t_request"], kind="stable")
    cols = {k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
    cols["drop_reasons"] = dict(o.drop_reasons)
    day.orders = Orders(**cols)
    day.canon = canon[order]


def _remove(day: _Day, drop: np.ndarray, reason: str | None) -> int:
    """Remove the orders of mask ``drop``; counted as dropped by ``reason`` when given."""
    n = int(drop.sum())
    if n == 0:
        return 0
    keep = np.flatnonzero(~drop)
    o = day.orders.take(keep)
    reasons = dict(day.orders.drop_reasons)
    rows = o.dropped_rows
    if reason is not None:
        reasons[reason] = reasons.get(reason, 0) + n
        rows += n
    day.orders = dataclasses.replace(o, drop_reasons=reasons, dropped_rows=rows)
    day.canon = day.canon[keep]
    return n


def _scale_trips(day: _Day, sel: np.ndarray, factor: float) -> None:
    """Trip times of the orders of ``sel`` × ``factor``."""
    if not sel.any():
        return
    trip_s = day.orders.trip_s.copy()
    trip_s[sel] *= factor
    day.orders = dataclasses.replace(day.orders, trip_s=trip_s)


def _like(
    donors: Orders,
    d: np.ndarray,
    t: np.ndarray,
    ends: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    zones: tuple[np.ndarray, np.ndarray],
    city: City,
) -> Orders:
    """Orders requested at ``t`` between the points ``ends`` (origin lat, lng, destination lat,
    lng), each like donor trip ``d``: its speed and its fare per metre on the new distance."""
    o_lat, o_lng, d_lat, d_lng = ends
    ox, oy = city.proj.to_xy(o_lat, o_lng)
    dx, dy = city.proj.to_xy(d_lat, d_lng)
    trip_m = np.asarray(city.travel.road_m(ox, oy, dx, dy), dtype=np.float64)
    ratio = np.clip(trip_m / np.maximum(donors.trip_m[d], 100.0), 0.25, 4.0)
    order = np.argsort(t, kind="stable")
    cols: dict[str, Any] = {
        "t_request": t,
        "o_lat": o_lat,
        "o_lng": o_lng,
        "d_lat": d_lat,
        "d_lng": d_lng,
        "trip_s": np.maximum(donors.trip_s[d] * ratio, MIN_TRIP_S),
        "trip_m": trip_m,
        "fare": donors.fare[d] * ratio,
        "o_zone": zones[0].astype(np.int32),
        "d_zone": zones[1].astype(np.int32),
        "source_id": np.full(t.size, -1, dtype=np.int64),
    }
    cp = None if donors.cancel_prob is None else donors.cancel_prob[d][order]
    sorted_cols: dict[str, Any] = {k: np.asarray(v)[order] for k, v in cols.items()}
    return Orders(**sorted_cols, cancel_prob=cp)


def _event_orders(
    shock: EventShock,
    city: City,
    day_orders: Orders,
    a: float,
    b: float,
    rng: np.random.Generator,
    where: str,
) -> Orders:
    """The event's trips: requested uniformly in the window, one end at the place, the other
    end that of a donor trip of the day leaving (reaching) the place near that time."""
    n = shock.trips
    leave = shock.direction == "from"
    here_lat, here_lng = (day_orders.o_lat, day_orders.o_lng) if leave else (
        day_orders.d_lat, day_orders.d_lng)  # fmt: skip
    if shock.zone is not None:
        z = zone_index(city, shock.zone, f"{where}.zone")
        at = (day_orders.o_zone if leave else day_orders.d_zone) == z
        assert city.zones is not None
        p_lat, p_lng = sample_points_in_zones(np.full(n, z), city.zones, rng)
        p_zone = np.full(n, z)
    else:
        assert shock.lat is not None and shock.lng is not None
        px, py = city.proj.to_xy(np.array([shock.lat]), np.array([shock.lng]))
        hx, hy = city.proj.to_xy(here_lat, here_lng)
        at = np.hypot(hx - px, hy - py) <= max(3 * shock.radius_m, _DONOR_RADIUS_M)
        p_lat, p_lng = jitter_latlng(
            np.full(n, shock.lat), np.full(n, shock.lng), shock.radius_m, rng
        )
        p_zone = _zones_of(city, p_lat, p_lng)
    d = rng.choice(_donors(day_orders, at, a, b), size=n)
    t = a + rng.random(n) * (b - a)
    if leave:
        far = jitter_latlng(day_orders.d_lat[d], day_orders.d_lng[d], _JITTER_M, rng)
        ends, zones = (p_lat, p_lng, *far), (p_zone, day_orders.d_zone[d])
    else:
        far = jitter_latlng(day_orders.o_lat[d], day_orders.o_lng[d], _JITTER_M, rng)
        ends, zones = (*far, p_lat, p_lng), (day_orders.o_zone[d], p_zone)
    return _like(day_orders, d, t, ends, zones, city)


def _zones_of(city: City, lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    if city.zones is None:
        return np.full(lat.size, -1, dtype=np.int32)
    return zone_of_points(lat, lng, city.zones).astype(np.int32)


def _donors(day_orders: Orders, at: np.ndarray, a: float, b: float) -> np.ndarray:
    """Donor trips: those at the place within an hour of the window, else at the place, else
    within an hour of the window anywhere, else any trip of the day."""
    t = day_orders.t_request
    near = (t >= a - 3600.0) & (t < b + 3600.0)
    for mask in (at & near, at, near):
        idx = np.flatnonzero(mask)
        if idx.size:
            return idx
    return np.arange(len(day_orders))


def _copies(
    shock: WeatherShock,
    city: City,
    orders: Orders,
    a: float,
    b: float,
    rng: np.random.Generator,
    where: str,
) -> Orders:
    """Demand × k > 1: Poisson((k - 1) n) copies of the n orders of the day's own in the window
    and zones (time ± 7.5 min, ends ± 100 m)."""
    mask = _zone_mask(city, shock.zones, f"{where}.zones")
    o = orders
    donors = np.flatnonzero(_in_window(o, a, b) & _in_zones(o.o_zone, mask))
    n = int(rng.poisson((shock.demand - 1.0) * donors.size)) if donors.size else 0
    d = rng.choice(donors, size=n) if n else np.zeros(0, dtype=np.int64)
    t = np.clip(o.t_request[d] + rng.uniform(-450.0, 450.0, n), a, np.nextafter(b, a))
    ends = (*jitter_latlng(o.o_lat[d], o.o_lng[d], _JITTER_M, rng),
            *jitter_latlng(o.d_lat[d], o.d_lng[d], _JITTER_M, rng))  # fmt: skip
    return _like(o, d, t, ends, (o.o_zone[d], o.d_zone[d]), city)


def _thin(day: _Day, st: _Step, city: City, n_rows: int) -> int:
    """Demand × k < 1: each order in the window and zones (added ones too) kept with probability
    k, by a uniform per row of ``day.canon`` (``n_rows`` of them); the number removed."""
    shock = st.shock
    assert isinstance(shock, WeatherShock)
    mask = _zone_mask(city, shock.zones, f"{st.where}.zones")
    o = day.orders
    sel = _in_window(o, *st.window_s) & _in_zones(o.o_zone, mask)
    u = st.rng.random(n_rows)[day.canon]
    return _remove(day, sel & (u >= shock.demand), None)


def _close(day: _Day, st: _Step, city: City) -> int:
    """No pickups in the zones over the window: their orders (added ones too) are dropped,
    counted as ``closure``; the number removed."""
    assert isinstance(st.shock, ClosureShock)
    mask = _zone_mask(city, st.shock.zones, f"{st.where}.zones")
    assert mask is not None
    return _remove(day, _in_window(day.orders, *st.window_s) & mask[day.orders.o_zone], "closure")


def _slow(day: _Day, st: _Step, city: City) -> None:
    """Trips and travel × 1/s in a weather shock's window and zones; from, to or through a
    closure's zones × its ``slowdown``."""
    shock, (a, b), o = st.shock, st.window_s, day.orders
    if isinstance(shock, WeatherShock):
        if shock.speed == 1:
            return
        mask = _zone_mask(city, shock.zones, f"{st.where}.zones")
        _scale_trips(day, _in_window(o, a, b) & _in_zones(o.o_zone, mask), 1.0 / shock.speed)
        day.factors.append(TravelFactor(a, b, 1.0 / shock.speed, mask))
        return
    assert isinstance(shock, ClosureShock)
    mask = _zone_mask(city, shock.zones, f"{st.where}.zones")
    assert mask is not None
    ox, oy = city.proj.to_xy(o.o_lat, o.o_lng)
    dx, dy = city.proj.to_xy(o.d_lat, o.d_lng)
    mid = _zone_at(city)((np.asarray(ox) + dx) / 2.0, (np.asarray(oy) + dy) / 2.0)
    hit = mask[o.d_zone] | mask[mid]
    _scale_trips(day, _in_window(o, a, b) & hit, shock.slowdown)
    day.factors.append(TravelFactor(a, b, shock.slowdown, mask, through=True))


# -- drivers


def _supply(
    day: _Day,
    shock: SupplyShock,
    a: float,
    b: float,
    sim: SimConfig,
    rng: np.random.Generator,
    day_orders: Orders,
) -> None:
    """Drivers online in the window × k: a share 1 - k of those whose shifts reach into it go
    offline for it (back after it as drivers of their own), or (k - 1) × the mean number online
    in it come online for it, placed near the origins of the day's own orders requested in it
    (of any time when it has none; no drivers come when the day has no orders)."""
    f = day.fleet
    over = np.clip(np.minimum(f.t_off, b) - np.maximum(f.t_on, a), 0.0, None)
    if shock.drivers < 1:
        cand = np.flatnonzero(over > 0)
        m = int(round((1.0 - shock.drivers) * cand.size))
        chosen = np.sort(rng.choice(cand, size=m, replace=False))
        t_on, t_off = f.t_on.copy(), f.t_off.copy()
        early = chosen[f.t_on[chosen] < a]
        back = early[f.t_off[early] > b]
        t_off[early] = a
        inside = chosen[f.t_on[chosen] >= a]
        t_on[inside] = np.where(f.t_off[inside] > b, b, f.t_off[inside])
        day.fleet = Fleet(t_on=t_on, t_off=t_off, lat=f.lat, lng=f.lng, managed=f.managed)
        _more_drivers(day, np.full(back.size, b), f.t_off[back], f.lat[back], f.lng[back],
                      f.managed[back])  # fmt: skip
    elif shock.drivers > 1:
        o = day_orders
        pool = np.flatnonzero(_in_window(o, a, b))
        pool = pool if pool.size else np.arange(len(o))
        n = int(round((shock.drivers - 1.0) * over.sum() / (b - a))) if pool.size else 0
        anchor = rng.choice(pool, size=n) if n else np.zeros(0, dtype=np.int64)
        lat, lng = near_origins(o, anchor, rng)
        # a count of managed drivers is of the day's own fleet: the added ones are not managed
        share = sim.managed_share if sim.managed_drivers is None else 0.0
        managed = rng.random(n) < share
        _more_drivers(day, np.full(n, a), np.full(n, b), lat, lng, managed)


def _more_drivers(
    day: _Day,
    t_on: np.ndarray,
    t_off: np.ndarray,
    lat: np.ndarray,
    lng: np.ndarray,
    managed: np.ndarray,
) -> None:
    """Append drivers to the fleet (after the day's own, so theirs keep their rows)."""
    if t_on.size == 0:
        return
    f = day.fleet
    day.fleet = Fleet(
        t_on=np.concatenate([f.t_on, t_on]),
        t_off=np.concatenate([f.t_off, t_off]),
        lat=np.concatenate([f.lat, lat]),
        lng=np.concatenate([f.lng, lng]),
        managed=np.concatenate([f.managed, managed.astype(bool)]),
    )
