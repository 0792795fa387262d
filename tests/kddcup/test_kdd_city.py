"""The ``kdd`` scenario: a day picked from a KDD orders file, drops counted, or synthetic demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from v1d3.demand.config import KddConfig, ScenarioConfig
from v1d3.demand.orders import KDD_CANCEL_CURVE, MAX_FARE, MAX_TRIP_S
from v1d3.errors import ConfigError, DataError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.kddcup.kdd_source import (
    day_epoch,
    kdd_day,
    read_kdd_orders,
    reference_epoch,
    weekday_of_epoch,
)
from v1d3.sim.checker import check_run
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario


def _cfg(kdd_files, kdd_orders: Any = "default", **kw: Any) -> ScenarioConfig:
    orders = str(kdd_files.orders) if kdd_orders == "default" else kdd_orders
    return ScenarioConfig(name="kdd", kdd=KddConfig(grid=str(kdd_files.grid), orders=orders), **kw)


def test_calendar_helpers() -> None:
    # 2016-11-08 00:00 in China Standard Time is 2016-11-07 16:00 UTC
    assert day_epoch("2016-11-08") == 1478534400
    assert weekday_of_epoch(day_epoch("2016-11-08")) == 1
    assert [weekday_of_epoch(reference_epoch(w)) for w in range(7)] == list(range(7))
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        day_epoch("8 Nov 2016")


def test_reader_counts_unreadable_rows(kdd_files) -> None:
    table = read_kdd_orders(kdd_files.orders)
    assert table.drop_reasons == {"fields": 1, "number": 1}
    assert len(table) == 2 * kdd_files.orders_per_day + 4


def test_absurd_rows_are_dropped_and_counted(kdd_files, tmp_path: Path) -> None:
    """A reward of 1e308 made the day's income infinite and metrics.json invalid; a ride of 30
    million years sized a fleet of billions of drivers; a start in year 3e300 was a day."""
    good = kdd_files.orders.read_text().splitlines()[:200]
    f = good[0].split(",")
    start = float(f[1])
    bad = {
        "reward": [[*f[:7], "1e308"], [*f[:7], str(MAX_FARE * 1.01)]],
        "too_long": [[*f[:2], str(start + MAX_TRIP_S + 1), *f[3:]]],
        "timestamp": [[f[0], "1e308", "1e308", *f[3:]], [f[0], "-5", *f[2:]]],
    }
    rows = [",".join([f"9{k}{i}", *r[1:]]) for k, rs in bad.items() for i, r in enumerate(rs)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(good + rows) + "\n")
    assert read_kdd_orders(path).drop_reasons == {"timestamp": 2}
    day = kdd_day(
        _cfg(kdd_files, kdd_orders=str(path), date="2016-11-08"), np.random.default_rng(0)
    )
    reasons = day.orders.drop_reasons
    assert reasons["reward"] == 2 and reasons["too_long"] == 1 and reasons["timestamp"] == 2
    assert len(day.orders) == 200 and day.orders.fare.max() <= MAX_FARE
    assert day.default_drivers < 200


def test_day_by_weekday_with_drops_counted(kdd_files) -> None:
    day = kdd_day(_cfg(kdd_files, weekday=1), np.random.default_rng(0))
    assert day.weekday == 1 and day.epoch_s == day_epoch("2016-11-08")
    n = kdd_files.orders_per_day
    assert len(day.orders) == n
    reasons = day.orders.drop_reasons
    for k, v in kdd_files.orders_bad_rows.items():
        assert reasons[k] == v, k
    for k, v in kdd_files.grid_bad_rows.items():
        assert reasons[f"grid_{k}"] == v, k
    assert day.orders.dropped_rows == sum(reasons.values())
    o = day.orders
    assert np.all(np.diff(o.t_request) >= 0) and 0 <= o.t_request[0] and o.t_request[-1] < 86400
    assert np.all(o.trip_s > 0) and np.all(o.fare > 0)
    assert o.cancel_prob is None  # the Tuesday rows carry no probabilities
    assert set(o.source_id.tolist()) == set(range(n))
    # straight-line trips at 3 m/s: duration = length / 3 (the generator drew them that way)
    np.testing.assert_allclose(o.trip_s, o.trip_m / 3.0, rtol=1e-3)


def test_day_by_date_overrides_weekday_and_reads_cancel_curves(kdd_files) -> None:
    day = kdd_day(_cfg(kdd_files, weekday=0, date="2016-11-09"), np.random.default_rng(0))
    assert day.weekday == 2
    assert day.orders.cancel_prob is not None
    np.testing.assert_allclose(day.orders.cancel_prob[0], KDD_CANCEL_CURVE)
    sub = kdd_day(_cfg(kdd_files, date="2016-11-09", orders=100), np.random.default_rng(0))
    assert len(sub.orders) == 100


def test_missing_day_and_grid_are_config_errors(kdd_files, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no orders on weekday 4"):
        kdd_day(_cfg(kdd_files, weekday=4), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="no orders on date 2016-11-20"):
        kdd_day(_cfg(kdd_files, date="2016-11-20"), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="needs a grid table"):
        kdd_day(ScenarioConfig(name="kdd"), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="exceeds"):
        kdd_day(_cfg(kdd_files, weekday=1, orders=10**6), np.random.default_rng(0))
    junk = tmp_path / "junk.csv"
    junk.write_text("1,2\n")
    with pytest.raises(DataError, match="junk.csv: no readable orders"):
        kdd_day(_cfg(kdd_files, kdd_orders=str(junk)), np.random.default_rng(0))


def test_synthetic_demand_on_the_grid(kdd_files) -> None:
    cfg = _cfg(kdd_files, kdd_orders=None, weekday=3, orders=2000)
    day = kdd_day(cfg, np.random.default_rng(1))
    assert day.epoch_s == reference_epoch(3) and day.weekday == 3
    assert len(day.orders) == 2000
    np.testing.assert_allclose(day.orders.trip_s, day.orders.trip_m / 3.0)
    again = kdd_day(cfg, np.random.default_rng(1))
    np.testing.assert_array_equal(day.orders.t_request, again.orders.t_request)


def test_kdd_scenario_runs_and_checks(kdd_files) -> None:
    sc = _cfg(kdd_files, date="2016-11-09", start_hour=8.0, hours=1.0)
    scenario = build_scenario(sc, SimConfig(), seed=0)
    assert scenario.weekday == 2 and scenario.epoch_s == day_epoch("2016-11-09")
    result = run_simulation(RunConfig(scenario=sc, seed=0), scenario=scenario)
    assert check_run(result.log).ok
    m = result.metrics
    assert m["completed"] > 0 and m["dropped_rows"] == 5  # 2 unreadable order rows + 3 grid rows
