"""Real-like Manhattan days: a named date's measured departure replayed, dates drawn per seed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from v1d3.demand.config import ManhattanConfig, ScenarioConfig
from v1d3.demand.manhattan import DRIVERS_PER_ORDER, load_manhattan, manhattan_day, manhattan_orders
from v1d3.demand.real_days import check_like_date, drawn_date, load_real_days
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.eval.study import StudyConfig
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.sim.seeds import scenario_streams

MAIN_T_REQUEST_SHA256 = "65275fe71f2dd2a49ae22287ab29640fce1e6c4af25525443315c32faae03c16"
"""sha256 of ``manhattan_orders(2, 20000, default_rng(0)).t_request`` on main before real days."""
STORM = "2021-02-01"


def _cfg(**manhattan: object) -> ScenarioConfig:
    return ScenarioConfig(manhattan=ManhattanConfig(**manhattan))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def storm_day():  # the full-volume Monday like the snowstorm (about 40,000 orders)
    return manhattan_day(_cfg(like_date=STORM), np.random.default_rng(1))


def test_default_day_is_byte_identical_to_before() -> None:
    o = manhattan_orders(2, 20_000, np.random.default_rng(0))
    assert hashlib.sha256(o.t_request.tobytes()).hexdigest() == MAIN_T_REQUEST_SHA256
    a = manhattan_day(ScenarioConfig(orders=20_000), np.random.default_rng(5))
    b = manhattan_orders(2, 20_000, np.random.default_rng(5))
    np.testing.assert_array_equal(a.orders.t_request, b.t_request)
    np.testing.assert_array_equal(a.orders.o_zone, b.o_zone)
    assert a.like_date is None and a.weekday is None


def test_like_date_reproduces_the_measured_volume(storm_day) -> None:
    dep = check_like_date(STORM)
    average = load_manhattan().daily_volume(0)
    assert storm_day.weekday == 0 and storm_day.like_date == STORM
    # the measured ratio: log(93 / 997) = -2.37 ± 0.10 (93 green pick-ups, 997 on a Monday)
    assert -2.4 < dep.volume < -2.0
    assert len(storm_day.orders) == round(average * np.exp(dep.volume))
    # the fleet stays the one planned for an average Monday
    assert storm_day.default_drivers == round(average * DRIVERS_PER_ORDER)


def test_like_date_reproduces_the_measured_hourly_profile(storm_day) -> None:
    dep = check_like_date(STORM)
    row = next(r for r in _rows() if r["date"] == STORM)
    by_hour = load_manhattan().trips[0].sum(axis=(1, 2)).reshape(24, 4).sum(axis=1)
    base = by_hour / by_hour.sum()
    counts = np.bincount((storm_day.orders.t_request // 3600).astype(int), minlength=24)
    simulated = np.log(counts / counts.sum() / base)
    noise = 1 / np.sqrt(counts)  # the simulated day's own Poisson noise
    # the measured departure, renormalised on the Manhattan table's Monday profile
    expected = dep.hour - np.log((base * np.exp(dep.hour)).sum())
    assert np.all(np.abs(simulated - expected) < 4 * noise)
    # ... which is the measured figure within its stated noise
    assert np.all(np.abs(simulated - dep.hour) < np.asarray(row["hour_sd"]) + 4 * noise)
    assert simulated[16] < -0.3  # the storm's afternoon: fewer trips than a Monday's share


def test_like_date_moves_the_measured_zones_only(storm_day) -> None:
    dep = check_like_date(STORM)
    data = load_manhattan()
    table = data.trips[0].astype(np.float64)
    table *= np.exp(np.repeat(dep.hour, 4))[:, None, None]
    plain = table.sum(axis=(0, 2))
    moved = plain * dep.zone_factors(data.zone_ids)
    counts = np.bincount(storm_day.orders.o_zone, minlength=data.zone_ids.size)
    big = counts > 400
    z = np.sqrt(counts[big])
    assert np.all(np.abs(counts[big] - moved[big] / moved.sum() * counts.sum()) < 4 * z)
    # zone 166 (Morningside Heights) lost a quarter of its share that day
    i166 = int(np.flatnonzero(data.zone_ids == 166)[0])
    assert dep.zone_factors(data.zone_ids)[i166] == pytest.approx(np.exp(-0.2467), abs=1e-3)
    unmeasured = ~np.isin(data.zone_ids, dep.zone_ids)
    assert np.all(dep.zone_factors(data.zone_ids)[unmeasured] == 1.0)


def test_real_days_are_deterministic_per_seed_and_differ_between_seeds() -> None:
    cfg = ScenarioConfig(orders=5_000, manhattan=ManhattanConfig(real_days=True))

    def draw(seed: int):
        return manhattan_day(cfg, scenario_streams(seed, cfg.weekday)[0])

    a, b = draw(3), draw(3)
    assert a.like_date == b.like_date and a.like_date in load_real_days().dates_of(2)
    np.testing.assert_array_equal(a.orders.t_request, b.orders.t_request)
    dates = {draw(s).like_date for s in range(12)}
    assert len(dates) > 3  # 13 Wednesdays to draw from
    other = next(s for s in range(12) if draw(s).like_date != a.like_date)
    assert not np.array_equal(draw(other).orders.t_request, a.orders.t_request)


def test_the_scenario_records_the_date_and_its_weekday() -> None:
    like = ScenarioConfig(orders=3_000, hours=1, manhattan=ManhattanConfig(like_date=STORM))
    sc = build_scenario(like, SimConfig(), seed=1)
    assert sc.weekday == 0 and sc.like_date == STORM  # the date's Monday, not the config's 2
    drawn = ScenarioConfig(orders=3_000, hours=1, manhattan=ManhattanConfig(real_days=True))
    for seed in (1, 2):
        date = build_scenario(drawn, SimConfig(), seed=seed).like_date
        assert date == drawn_date(seed, 2) and date in load_real_days().dates_of(2)
    assert build_scenario(ScenarioConfig(orders=3_000, hours=1), SimConfig(), 1).like_date is None


def test_the_fleet_is_planned_for_the_average_day() -> None:
    # the snowstorm keeps 9 % of a Monday's orders; its drivers planned for a usual Monday
    storm = ScenarioConfig(manhattan=ManhattanConfig(like_date=STORM), hours=24)
    usual = ScenarioConfig(weekday=0, hours=24)
    a, b = build_scenario(storm, SimConfig(), 3), build_scenario(usual, SimConfig(), 3)
    assert len(a.orders) < 0.15 * len(b.orders)
    assert abs(len(a.fleet) - len(b.fleet)) < 0.02 * len(b.fleet)
    # hour by hour too: the storm's few trips came early (2-4 a.m. +0.6 in its profile), yet
    # 3 a.m. has a usual night's drivers (a fleet fitted to its own orders had about twice)
    for t in (3.5 * 3600, 8.5 * 3600, 16.5 * 3600):
        on = [int(((f.t_on <= t) & (f.t_off > t)).sum()) for f in (a.fleet, b.fleet)]
        assert abs(on[0] - on[1]) < 0.2 * on[1]


def test_every_policy_meets_the_same_real_day() -> None:
    sc = ScenarioConfig(orders=6_000, hours=1, manhattan=ManhattanConfig(real_days=True))
    runs = [run_simulation(RunConfig(scenario=sc, dispatch=d, seed=4)) for d in ("fcfs", "fare")]
    assert runs[0].log.meta["like_date"] == runs[1].log.meta["like_date"] == drawn_date(4, 2)
    a, b = (r.log.orders for r in runs)
    for col in ("t_request_s", "origin_lat", "dest_lng"):
        np.testing.assert_array_equal(a[col], b[col])
    np.testing.assert_array_equal(runs[0].log.drivers["t_on_s"], runs[1].log.drivers["t_on_s"])


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"like_date": "2021-02-06"}, "like_date: 2021-02-06 is a Saturday"),
        ({"like_date": "2020-12-01"}, "like_date: 2020-12-01 is not a measured date"),
        ({"like_date": "Feb 1"}, "like_date: expected a date YYYY-MM-DD"),
        ({"like_date": "20210201"}, "like_date: expected a date YYYY-MM-DD"),
        ({"like_date": "2021-2-1"}, "like_date: expected a date YYYY-MM-DD"),
        ({"like_date": STORM, "real_days": True}, "like_date and real_days exclude each other"),
    ],
)
def test_bad_dates_are_config_errors_naming_the_field(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        ManhattanConfig(**kwargs)


def test_like_date_sets_the_weekday_its_streams_are_seeded_by() -> None:
    # the demand streams are drawn from (seed, weekday): the config must carry the date's
    cfg = ScenarioConfig(weekday=3, manhattan=ManhattanConfig(like_date=STORM))
    assert cfg.weekday == 0
    with pytest.raises(ConfigError, match="weekdays: like_date 2021-02-01 is a weekday 0"):
        StudyConfig(policies=("distance/stay",), weekdays=(0, 1), seeds=(1,), scenario=cfg)
    assert StudyConfig(policies=("distance/stay",), weekdays=(0,), seeds=(1,), scenario=cfg)


@pytest.mark.parametrize("manhattan", [{"like_date": STORM}, {"real_days": True}])
def test_real_day_options_are_refused_on_other_scenarios(manhattan: dict) -> None:
    key = next(iter(manhattan))
    with pytest.raises(ConfigError, match=f"{key}: applies to the manhattan scenario only"):
        ScenarioConfig(name="synthetic", manhattan=ManhattanConfig(**manhattan))


def test_holidays_are_measured_and_flagged() -> None:
    rows = {r["date"]: r for r in _rows()}
    assert len(rows) == 64  # every Monday..Friday of 2021 Q1
    assert rows["2021-01-18"]["holiday"] == "Martin Luther King Jr. Day"
    assert rows["2021-01-18"]["volume"] < -0.3
    assert load_real_days().days["2021-01-18"].holiday == "Martin Luther King Jr. Day"


def _rows() -> list[dict]:
    import json

    from v1d3.demand.real_days import TABLE_PATH

    return json.loads(TABLE_PATH.read_text())["dates"]
