"""Each shock kind changes the day where and when it should, and nowhere else.

Every test runs the same seed with and without one shock on a four-hour Manhattan evening
(16-20 h) whose shocks act from 18 to 19 h: the hour before the window's eve and every order
settled before the window are identical, the window's hour moves the expected way, and the
orders outside the window (and zone) are the same orders.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import MIN_TRIP_S
from v1d3.demand.shocks import ClosureShock, EventShock, Shock, SupplyShock, WeatherShock
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import metrics_by_hour
from v1d3.eval.run import RunResult, run_simulation
from v1d3.geo.travel import ScaledTravel
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import Scenario, build_scenario
from v1d3.sim.shocks import stage_shocks

BASE = ScenarioConfig(name="manhattan", start_hour=16.0, hours=4.0, orders=40_000)
SEED = 5
A, B = 18.0, 19.0
"""The shocks' window, hours: hour 18."""
H = 18
"""The window's hour of day."""
MIDTOWN = ("Midtown Center", "Midtown East")


def _cfg(*shocks: Shock) -> ScenarioConfig:
    return dataclasses.replace(BASE, shocks=shocks)


@cache
def _run(*shocks: Shock) -> tuple[Scenario, RunResult, dict[str, np.ndarray]]:
    cfg = RunConfig(scenario=_cfg(*shocks), seed=SEED)
    sc = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    result = run_simulation(cfg, scenario=sc)
    return sc, result, metrics_by_hour(result.log)


def _zone_ids(sc: Scenario, names: tuple[str, ...]) -> np.ndarray:
    assert sc.city.zones is not None
    return np.array([sc.city.zones.names.index(n) for n in names])


def _rows(sc: Scenario, keep: np.ndarray) -> dict[str, np.ndarray]:
    o = sc.orders
    return {k: getattr(o, k)[keep] for k in ("t_request", "o_lat", "o_lng", "d_lat", "fare")}


def _same_before(r0: RunResult, r1: RunResult) -> None:
    """Every hourly figure of hour 16 is the same (drivers online up to the rounding of a sum
    over more drivers), and so is the outcome of every order settled before the window (the
    hour just before it may differ: its last orders wait into the window)."""
    h0, h1 = metrics_by_hour(r0.log), metrics_by_hour(r1.log)
    for k, v in h0.items():
        assert v[16] == pytest.approx(h1[k][16], rel=1e-12, abs=0), k
    o0, o1 = r0.log.orders, r1.log.orders
    early0 = o0["t_request_s"] < A * 3600 - SimConfig().patience_s
    early1 = o1["t_request_s"] < A * 3600 - SimConfig().patience_s
    for k in ("t_request_s", "status", "driver_id", "t_assign_s", "pickup_m", "t_end_s"):
        np.testing.assert_array_equal(o0[k][early0], o1[k][early1], err_msg=k)


def _assert_same_rows(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _outside(sc: Scenario, zones: np.ndarray | None = None) -> np.ndarray:
    t = sc.orders.t_request
    out = (t < A * 3600) | (t >= B * 3600)
    if zones is not None:
        out |= ~np.isin(sc.orders.o_zone, zones)
    return out


def test_event_adds_its_trips_in_its_window_from_its_zone_only() -> None:
    shock = EventShock(start_h=A, end_h=B, trips=600, zone="Midtown Center")
    sc0, r0, h0 = _run()
    sc1, r1, h1 = _run(shock)
    _same_before(r0, r1)
    assert h1["orders"][H] == h0["orders"][H] + 600
    assert h1["answer_rate"][H] < h0["answer_rate"][H]  # the extra trips are served worse
    added = sc1.shocked.order_base < 0  # type: ignore[union-attr]
    assert added.sum() == 600 and np.all(sc1.o_cell[added] >= 0)
    t = sc1.orders.t_request[added]
    assert t.min() >= A * 3600 and t.max() < B * 3600
    (z,) = _zone_ids(sc1, ("Midtown Center",))
    assert np.all(sc1.orders.o_zone[added] == z)
    # the day's own orders are all there, unchanged
    _assert_same_rows(_rows(sc0, np.ones(len(sc0.orders), bool)), _rows(sc1, ~added))
    (meta,) = r1.log.meta["shocks"]
    assert meta["kind"] == "event" and meta["added_orders"] == 600 and meta["drawn"] is False


def test_event_to_a_point_ends_its_trips_near_the_point() -> None:
    shock = EventShock(start_h=A, end_h=B, trips=200, lat=40.7505, lng=-73.9934, direction="to")
    sc1, _, _ = _run(shock)
    added = sc1.shocked.order_base < 0  # type: ignore[union-attr]
    d_lat = sc1.orders.d_lat[added]
    d_lng = sc1.orders.d_lng[added]
    assert np.median(np.hypot(d_lat - 40.7505, (d_lng + 73.9934) * 0.76)) * 111_195 < 600


def test_weather_scales_demand_and_travel_time_in_its_window_only() -> None:
    shock = WeatherShock(start_h=A, end_h=B, demand=1.5, speed=0.7)
    sc0, r0, h0 = _run()
    sc1, r1, h1 = _run(shock)
    _same_before(r0, r1)
    base_n = ((sc0.orders.t_request >= A * 3600) & (sc0.orders.t_request < B * 3600)).sum()
    added = sc1.shocked.order_base < 0  # type: ignore[union-attr]
    assert 0.4 * base_n < added.sum() < 0.6 * base_n
    assert h1["orders"][H] > 1.3 * h0["orders"][H]
    assert h1["answer_rate"][H] < h0["answer_rate"][H]
    # the day's own trips: slower by 1 / 0.7 in the window, unchanged outside it
    base = sc1.shocked.order_base[~added]  # type: ignore[union-attr]
    np.testing.assert_array_equal(base, np.arange(len(sc0.orders)))
    inside = ~_outside(sc0)
    trip1 = sc1.orders.trip_s[~added]
    np.testing.assert_allclose(trip1[inside], sc0.orders.trip_s[inside] / 0.7)
    np.testing.assert_array_equal(trip1[~inside], sc0.orders.trip_s[~inside])
    # pickups and repositioning: the travel model is slower in the window only
    assert isinstance(sc1.city.travel, ScaledTravel) and sc0.city.travel is not sc1.city.travel
    x = np.array([0.0])
    z = np.array([0])
    t_in = sc1.city.travel.time_s(x, x, x + 1000, x, z, z, A * 3600 + 1)
    t_out = sc1.city.travel.time_s(x, x, x + 1000, x, z, z, A * 3600 - 1)
    base_t = sc0.city.travel.time_s(x, x, x + 1000, x, z, z, A * 3600 + 1)
    np.testing.assert_allclose(t_in, base_t / 0.7)
    np.testing.assert_array_equal(
        t_out, sc0.city.travel.time_s(x, x, x + 1000, x, z, z, A * 3600 - 1)
    )


def test_weather_thins_demand_in_its_zones_and_nowhere_else() -> None:
    shock = WeatherShock(start_h=A, end_h=B, demand=0.5, zones=MIDTOWN)
    sc0, r0, h0 = _run()
    sc1, r1, h1 = _run(shock)
    _same_before(r0, r1)
    zones = _zone_ids(sc0, MIDTOWN)
    out0 = _outside(sc0, zones)
    _assert_same_rows(_rows(sc0, out0), _rows(sc1, _outside(sc1, zones)))
    n0, n1 = (~out0).sum(), (~_outside(sc1, zones)).sum()
    assert 0.35 * n0 < n1 < 0.65 * n0
    assert h1["orders"][H] < h0["orders"][H] and h1["orders"][16] == h0["orders"][16]


@pytest.mark.parametrize("k", [0.5, 1.5])
def test_supply_scales_the_drivers_online_in_its_window(k: float) -> None:
    sc0, r0, h0 = _run()
    sc1, r1, h1 = _run(SupplyShock(start_h=A, end_h=B, drivers=k))
    _same_before(r0, r1)
    # the same orders; the day's own drivers keep their rows, the added come after them
    _assert_same_rows(
        _rows(sc0, np.ones(len(sc0.orders), bool)), _rows(sc1, np.ones(len(sc1.orders), bool))
    )
    n0 = len(sc0.fleet)
    np.testing.assert_array_equal(sc1.fleet.lat[:n0], sc0.fleet.lat)
    ratio = h1["drivers_online"][H] / h0["drivers_online"][H]
    assert abs(ratio - k) < 0.15, ratio
    if k < 1:
        assert h1["answer_rate"][H] < h0["answer_rate"][H]
    else:
        assert h1["answer_rate"][H] > h0["answer_rate"][H]


def test_closure_drops_its_pickups_counted_and_slows_travel_through_it() -> None:
    shock = ClosureShock(start_h=A, end_h=B, zones=("Midtown Center",), slowdown=2.0)
    sc0, r0, h0 = _run()
    sc1, r1, h1 = _run(shock)
    _same_before(r0, r1)
    zones = _zone_ids(sc0, ("Midtown Center",))
    closed = ~_outside(sc0, zones)
    assert closed.sum() > 20
    assert not (~_outside(sc1, zones)).any()  # no pickup in the zone in the window
    assert r1.metrics["dropped_rows"] == closed.sum()
    assert r1.log.meta["drop_reasons"] == {"closure": int(closed.sum())}
    _assert_same_rows(_rows(sc0, ~closed), _rows(sc1, np.ones(len(sc1.orders), bool)))
    kept = sc0.orders.trip_s[~closed]
    win = ~_outside(sc0)[~closed]
    to_zone = np.isin(sc0.orders.d_zone[~closed], zones)
    np.testing.assert_allclose(sc1.orders.trip_s[win & to_zone], kept[win & to_zone] * 2.0)
    np.testing.assert_array_equal(sc1.orders.trip_s[~win], kept[~win])
    assert h1["orders"][H] < h0["orders"][H]


def test_shocks_combine_and_keep_the_day_without_them_unchanged() -> None:
    both = (
        EventShock(start_h=A, end_h=B, trips=300, zone="Midtown Center"),
        SupplyShock(start_h=A, end_h=B, drivers=0.7),
    )
    sc0, r0, h0 = _run()
    _, r1, h1 = _run(*both)
    _same_before(r0, r1)
    assert h1["orders"][H] == h0["orders"][H] + 300
    assert h1["drivers_online"][H] < h0["drivers_online"][H]
    # a day without shocks draws exactly what it drew before shocks existed
    assert sc0.shocked is None and "shocks" not in r0.log.meta


def test_unknown_zone_and_point_outside_the_city_name_the_field() -> None:
    sim = SimConfig()
    with pytest.raises(ConfigError, match=r"^shocks\[0\]\.zone: unknown zone 'Atlantis'"):
        build_scenario(_cfg(EventShock(start_h=A, end_h=B, zone="Atlantis")), sim, 0)
    with pytest.raises(ConfigError, match=r"^shocks\[1\]\.zones: unknown zone"):
        build_scenario(
            _cfg(WeatherShock(start_h=A, end_h=B), ClosureShock(start_h=A, end_h=B, zones=("x",))),
            sim,
            0,
        )
    far = EventShock(start_h=A, end_h=B, lat=48.85, lng=2.35)
    with pytest.raises(ConfigError, match=r"^shocks\[0\]\.lat: the point"):
        build_scenario(_cfg(far), sim, 0)
    synthetic = ScenarioConfig(name="synthetic", orders=2000, shocks=(ClosureShock(zones=("a",)),))
    with pytest.raises(ConfigError, match=r"^shocks\[0\]\.zones: the synthetic city has no zones"):
        build_scenario(synthetic, sim, 0)


def test_zone_ids_name_zones_too() -> None:
    sc, _, _ = _run(WeatherShock(start_h=A, end_h=B, demand=0.5, zones=MIDTOWN))
    by_id = WeatherShock(start_h=A, end_h=B, demand=0.5, zones=("161", "162"))
    sc2 = build_scenario(_cfg(by_id), SimConfig(), SEED)
    np.testing.assert_array_equal(sc.orders.t_request, sc2.orders.t_request)


def test_scaled_travel_broadcasts_like_the_base_on_2d_legs() -> None:
    """Repositioning asks for (drivers, candidates) arrays of legs: the shocked travel model
    answers in that shape, leg by leg the same as on flat arrays."""
    shock = ClosureShock(start_h=A, end_h=B, zones=("Midtown Center",), slowdown=2.0)
    sc, _, _ = _run(shock)
    city = sc.city
    rng = np.random.default_rng(0)
    src = rng.integers(0, city.n_cells, size=(40, 1))
    dst = rng.integers(0, city.n_cells, size=(40, 7))
    zone = np.asarray(city.zone_of_cells(np.arange(city.n_cells)))
    args2 = (city.cell_x[src], city.cell_y[src], city.cell_x[dst], city.cell_y[dst], zone[src],
             zone[dst], A * 3600 + 60)  # fmt: skip
    t2 = city.travel.time_s(*args2)
    assert t2.shape == (40, 7)
    flat = [np.broadcast_to(a, (40, 7)).ravel() for a in args2[:6]]
    np.testing.assert_array_equal(t2.ravel(), city.travel.time_s(*flat, A * 3600 + 60))
    base = sc.city.travel.base.time_s(*args2)  # type: ignore[attr-defined]
    assert np.all((t2 == base) | np.isclose(t2, 2 * base)) and np.any(t2 != base)


MIXED = (
    EventShock(start_h=A, end_h=B, trips=400, zone="Midtown Center"),
    WeatherShock(start_h=A, end_h=B, demand=0.6, speed=0.8),
    ClosureShock(start_h=A, end_h=B, zones=("Midtown Center",), slowdown=1.5),
    WeatherShock(start_h=A, end_h=B, demand=1.4, zones=MIDTOWN),
    SupplyShock(start_h=A, end_h=B, drivers=1.3),
    SupplyShock(start_h=A, end_h=B, drivers=0.8),
)
"""Shocks that meet: an event and more demand inside a closed zone, rain over all of them."""


def test_shocks_give_the_same_day_in_any_order_they_are_listed() -> None:
    sc1, r1, _ = _run(*MIXED)
    sc2, r2, _ = _run(*MIXED[::-1])
    sc3, r3, _ = _run(*MIXED[2:], *MIXED[:2])
    for sc in (sc2, sc3):
        for f in ("t_request", "o_lat", "o_lng", "d_lat", "d_lng", "trip_s", "fare", "o_zone"):
            np.testing.assert_array_equal(getattr(sc1.orders, f), getattr(sc.orders, f), f)
        for f in ("t_on", "t_off", "lat", "lng", "managed"):
            np.testing.assert_array_equal(getattr(sc1.fleet, f), getattr(sc.fleet, f), f)
        np.testing.assert_array_equal(sc1.shocked.order_base, sc.shocked.order_base)  # type: ignore[union-attr]
    for r in (r2, r3):
        assert {k: v for k, v in r1.metrics.items() if "wall" not in k and "_ms_" not in k} == {
            k: v for k, v in r.metrics.items() if "wall" not in k and "_ms_" not in k
        }
    # the effects are each shock's, in its own place of the list
    m1 = r1.log.meta["shocks"]
    m2 = r2.log.meta["shocks"][::-1]
    assert m1 == m2
    assert m1[0]["added_orders"] == 400 and m1[2]["removed_orders"] > 0


def test_added_orders_meet_the_closure_and_the_weather_of_any_shock() -> None:
    """An event's trips and extra demand in a closed zone are dropped as the zone's own are;
    the weather thins and slows the added orders too, whichever comes first in the list."""
    sc, r, _ = _run(*MIXED[::-1])
    (z,) = _zone_ids(sc, ("Midtown Center",))
    o = sc.orders
    win = (o.t_request >= A * 3600) & (o.t_request < B * 3600)
    assert not np.any(win & (o.o_zone == z))
    meta = r.log.meta["shocks"][::-1]  # in the order of MIXED
    assert r.log.meta["drop_reasons"] == {"closure": meta[2]["removed_orders"]}
    sc0, _, _ = _run()
    base_closed = ((sc0.orders.t_request >= A * 3600) & (sc0.orders.t_request < B * 3600)
                   & (sc0.orders.o_zone == z)).sum()  # fmt: skip
    assert meta[2]["removed_orders"] > 0.6 * base_closed + 100  # the event's trips among them
    added = sc.shocked.order_base < 0  # type: ignore[union-attr]
    assert meta[1]["removed_orders"] > 0 and added.sum() < meta[0]["added_orders"] + meta[3][
        "added_orders"]  # fmt: skip
    # every trip of the window is slowed by the rain (1 / 0.8), added ones too
    assert np.all(o.trip_s[win & added] >= MIN_TRIP_S / 0.8 - 1e-9)


def test_more_drivers_in_a_window_without_orders() -> None:
    """Drivers added where the shocks left no orders come online near the day's own orders of
    the window; with no orders in the whole day, none are added."""
    cfg = dataclasses.replace(BASE, start_hour=A, hours=1.0, orders=5000)
    none = WeatherShock(start_h=A, end_h=B, demand=0.0)
    more = SupplyShock(start_h=A, end_h=B, drivers=2.0)
    sc = build_scenario(dataclasses.replace(cfg, shocks=(none, more)), SimConfig(), SEED)
    plain = build_scenario(cfg, SimConfig(), SEED)
    assert len(sc.orders) == 0
    n0 = len(plain.fleet)
    assert len(sc.fleet) > 1.5 * n0
    assert np.all(np.abs(sc.fleet.lat[n0:] - 40.77) < 0.15)
    empty = plain.orders.take(np.zeros(0, dtype=np.int64))
    cfg2 = dataclasses.replace(cfg, shocks=(more,))
    _, _, fleet, shocked = stage_shocks(
        cfg2, SimConfig(), plain.city, empty, empty, plain.fleet, SEED
    )
    assert len(fleet) == n0 and shocked.meta()[0]["added_drivers"] == 0


def test_drivers_a_supply_shock_adds_are_not_among_a_count_of_managed() -> None:
    """A share manages the added drivers in that share; a count is of the day's own fleet."""
    more = SupplyShock(start_h=A, end_h=B, drivers=2.0)
    cfg = dataclasses.replace(BASE, start_hour=A, hours=1.0, orders=5000, shocks=(more,))
    plain = build_scenario(dataclasses.replace(cfg, shocks=()), SimConfig(), SEED)
    n0 = len(plain.fleet)
    count = build_scenario(cfg, SimConfig(managed_drivers=5), SEED)
    assert len(count.fleet) > 1.5 * n0
    assert count.fleet.managed.sum() == 5 and not count.fleet.managed[n0:].any()
    share = build_scenario(cfg, SimConfig(managed_share=0.5), SEED)
    np.testing.assert_array_equal(share.fleet.lat, count.fleet.lat)  # the same draws
    assert 0.4 < share.fleet.managed[n0:].mean() < 0.6
