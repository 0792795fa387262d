"""Random shock days: deterministic per (weekday, seed), different between seeds, the same for
every policy (common random numbers)."""

from __future__ import annotations

import dataclasses

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.manhattan import manhattan_city
from v1d3.demand.shocks import EventShock, SupplyShock, WeatherShock
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.sim.scenario import build_scenario
from v1d3.sim.shock_draw import RandomShocks, draw_shocks

CFG = ScenarioConfig(name="manhattan", start_hour=16, hours=4, orders=40_000, random_shocks=True)
ALWAYS = RandomShocks(events_per_day=3.0, rain_p=1.0, snow_p=1.0, supply_p=1.0, closure_p=1.0)
"""Every kind on every day, so that a draw has something to differ in."""


def test_draw_is_deterministic_per_seed_and_differs_between_seeds() -> None:
    city = manhattan_city(8)
    a = [draw_shocks(CFG, city, 40_000, s, ALWAYS) for s in range(6)]
    b = [draw_shocks(CFG, city, 40_000, s, ALWAYS) for s in range(6)]
    assert a == b
    assert len({repr(x) for x in a}) == 6
    for shocks in a:
        assert all(16 <= s.start_h < s.end_h <= 20 for s in shocks)
        events = [s for s in shocks if isinstance(s, EventShock)]
        # sizes scale with the day's volume (40,000 of the reference 455,000)
        assert all(80 <= e.trips <= 270 for e in events)
    other_day = dataclasses.replace(CFG, weekday=3)
    assert draw_shocks(other_day, city, 40_000, 0, ALWAYS) != a[0]


def test_random_shock_day_is_the_same_for_every_policy() -> None:
    seed = next(s for s in range(50) if build_scenario(CFG, RunConfig().sim, s).shocked.drawn)  # type: ignore[union-attr]
    runs = [
        run_simulation(RunConfig(scenario=CFG, seed=seed, dispatch=d)) for d in ("distance", "fcfs")
    ]
    metas = [r.log.meta["shocks"] for r in runs]
    assert metas[0] == metas[1] and all(m["drawn"] for m in metas[0])
    for k in ("t_request_s", "origin_lat", "fare", "trip_s"):
        assert (runs[0].log.orders[k] == runs[1].log.orders[k]).all(), k
    assert runs[0].metrics["orders"] == runs[1].metrics["orders"]
    assert runs[0].metrics["total_income"] != runs[1].metrics["total_income"]
    # the same draw as the distribution alone gives, recorded in the run
    drawn = draw_shocks(CFG, manhattan_city(8), 40_000, seed)
    assert [m["kind"] for m in metas[0]] == [s.kind for s in drawn]


def test_a_very_short_horizon_draws_only_valid_shocks_inside_it() -> None:
    """Horizons shorter than the minute the windows are rounded to: a shock whose window would
    be empty is left out, every other one lies inside the horizon."""
    city = manhattan_city(8)
    for start, hours in ((10.009, 0.005), (23.995, 0.005), (10.004, 0.01), (10.0, 0.001)):
        cfg = dataclasses.replace(CFG, start_hour=start, hours=hours)
        for seed in range(10):
            for s in draw_shocks(cfg, city, 40_000, seed, ALWAYS):
                assert start <= s.start_h < s.end_h <= start + hours + 1e-12, (start, s)


def test_rain_brings_fewer_drivers_over_its_window_on_about_a_third_of_days() -> None:
    city = manhattan_city(8)
    day = dataclasses.replace(CFG, start_hour=0, hours=24)
    rainy = 0
    for seed in range(300):
        shocks = draw_shocks(day, city, 400_000, seed)
        rain = [s for s in shocks if isinstance(s, WeatherShock) and s.demand >= 1.0]
        supply = [s for s in shocks if isinstance(s, SupplyShock)]
        for r in rain:  # its drop in supply over the same window
            assert any((s.start_h, s.end_h) == (r.start_h, r.end_h) for s in supply)
            assert r.demand <= 1.1 and 0.9 <= r.speed <= 1.0
        rainy += bool(rain)
    assert 75 <= rainy <= 125  # rain_p = 0.33: 99 expected, sd 8
