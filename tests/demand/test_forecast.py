"""The historical forecast: the mean of plain historical days of their own, never a run's day."""

from __future__ import annotations

import numpy as np
import pytest

from scenario_fixtures import small_synthetic
from v1d3.demand.config import ManhattanConfig, ScenarioConfig
from v1d3.demand.forecast import (
    FORECAST_SLOT_S,
    DepartureForecast,
    historical_forecast,
    plain_config,
)
from v1d3.demand.registry import source_of
from v1d3.errors import ConfigError
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.sim.seeds import history_rng


def test_forecast_is_the_mean_of_the_history_days():
    cfg = small_synthetic(orders=3000, start_hour=0.0, hours=24.0)
    f = historical_forecast(cfg, 3)
    n_slots = f.counts.shape[0]
    days = []
    for i in range(3):  # the historical days, drawn as a run draws its demand
        day = source_of(cfg).day(cfg, history_rng(i, cfg.weekday))
        slot = (day.orders.t_request // FORECAST_SLOT_S).astype(int)
        c = np.zeros((n_slots, day.city.n_cells))
        np.add.at(c, (slot, day.city.cell_of(day.orders.o_lat, day.orders.o_lng)), 1.0)
        days.append(c)
    np.testing.assert_allclose(f.counts, np.mean(days, axis=0))
    assert not np.allclose(days[0], days[1])  # the days differ; their mean is the forecast
    assert historical_forecast(cfg, 3) is f  # once per process
    # no run's day is among them, whatever its seed
    for seed in (0, 1, 2, 1000, 1001):
        sc = build_scenario(cfg, SimConfig(), seed)
        run = np.zeros((n_slots, sc.city.n_cells))
        np.add.at(run, ((sc.orders.t_request // FORECAST_SLOT_S).astype(int), sc.o_cell), 1.0)
        assert not any(np.array_equal(run, d) for d in days)


def test_departures_count_partial_slots_pro_rata():
    counts = np.zeros((96, 2))
    counts[4] = [8.0, 2.0]  # 1:00-1:15
    f = DepartureForecast(900.0, counts)
    np.testing.assert_allclose(f.departures(3600.0, 3600.0 + 450.0), [4.0, 1.0])
    np.testing.assert_allclose(f.departures(0.0, 86400.0), [8.0, 2.0])


def test_shocks_and_real_days_are_stripped():
    real = ScenarioConfig(manhattan=ManhattanConfig(real_days=True, zone_day_sd=0.15))
    assert plain_config(real) == ScenarioConfig()
    dated = ScenarioConfig(manhattan=ManhattanConfig(like_date="2021-03-09"))
    assert plain_config(dated) == ScenarioConfig(weekday=1)  # the date's weekday, kept
    shocked = small_synthetic(orders=3000, random_shocks=True)
    assert plain_config(shocked) == small_synthetic(orders=3000)
    np.testing.assert_array_equal(
        historical_forecast(shocked, 1).counts, historical_forecast(plain_config(shocked), 1).counts
    )


def test_replayed_days_and_bad_day_counts_are_refused():
    with pytest.raises(ConfigError, match="replays one real date"):
        historical_forecast(ScenarioConfig(name="nyc-tlc"), 2)
    with pytest.raises(ConfigError, match="forecast days"):
        historical_forecast(small_synthetic(), 0)
