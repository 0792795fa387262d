"""Advantage matching on numbers: edge weights, top-k, negative pairs, learning and ensembling."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.orders import Orders
from v1d3.demand.orders import cancel_probability as curve_cancel_prob
from v1d3.demand.synthetic import synthetic_city
from v1d3.dispatch.advantage import (
    ValueDispatch,
    ValueDispatchConfig,
    advantage,
    champion_cancel_prob,
    top_k_mask,
)
from v1d3.errors import ConfigError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.td import PopulationOnlineTD
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.value.base import Discount
from v1d3.value.tabular import LocationValue


@pytest.fixture(scope="module")
def city():
    return synthetic_city(SyntheticConfig(rings=1), 8)  # 7 cells


def _batch(driver, order, pickup_m, pickup_s, driver_cell, fare, trip_s, d_cell, t=0.0, cp=None):
    n_o = len(fare)
    orders = Orders(
        t_request=np.zeros(n_o), o_lat=np.zeros(n_o), o_lng=np.zeros(n_o), d_lat=np.zeros(n_o),
        d_lng=np.zeros(n_o), trip_s=np.asarray(trip_s, float), trip_m=np.full(n_o, 1000.0),
        fare=np.asarray(fare, float), o_zone=np.full(n_o, -1), d_zone=np.full(n_o, -1),
        source_id=np.arange(n_o), cancel_prob=cp,
    )  # fmt: skip
    n = len(driver)
    return CandidateBatch(
        t, 0, np.asarray(driver), np.asarray(order), np.asarray(pickup_m, float),
        np.asarray(pickup_s, float), np.zeros(n), np.zeros(n), np.asarray(driver_cell),
        orders, np.zeros(n_o, np.int32), np.asarray(d_cell),
    )  # fmt: skip


def _context(city, start_s=0.0):
    return DayContext(city, 0, start_s, 86400.0, SimConfig(), np.random.default_rng(0))


def _value(city, table):
    v = LocationValue(city.n_cells, Discount(0.9, 600.0))
    v.table[: len(table)] = table
    return v


def test_advantage_by_hand(city):
    v = _value(city, [3.0, 5.0, 1.0])
    # pair 0: driver in cell 0, fare 10, pickup 300 s + trip 900 s = 2 units, to cell 1
    # pair 1: driver in cell 2, fare 4, 0 + 600 s = 1 unit, to cell 0
    b = _batch([0, 1], [0, 1], [2000.0, 0.0], [300.0, 0.0], [0, 2], [10.0, 4.0], [900.0, 600.0],
               [1, 0])  # fmt: skip
    a = advantage(b, v)
    # 9.5 + 0.81·5 − 3 = 10.55;  4 + 0.9·3 − 1 = 5.7
    np.testing.assert_allclose(a, [10.55, 5.7])
    # champion's cancellation model: p(2000 m) = 0.01·20 = 0.2, p(0) = 0.01
    np.testing.assert_allclose(advantage(b, v, cancel_factor=True), [10.55 * 0.8, 5.7 * 0.99])
    # champion's duration: k = max(1, floor(900 / 600)) = 1 → 10 + 0.9·5 − 3 = 11.5
    np.testing.assert_allclose(advantage(b, v, duration="champion")[0], 11.5)
    with pytest.raises(ConfigError):
        advantage(b, v, duration="other")  # type: ignore[arg-type]


def test_cancel_curves():
    np.testing.assert_allclose(champion_cancel_prob([0.0, 1000.0, 2000.0]),
                               [0.01, 0.01 * np.sqrt(20), 0.2])  # fmt: skip
    curve = (0.035, 0.039, 0.042, 0.050, 0.059, 0.075, 0.086, 0.099, 0.112, 0.127)
    np.testing.assert_allclose(curve_cancel_prob([100.0, 300.0, 2000.0, 3000.0], curve),
                               [0.035, 0.037, 0.127, 0.127])  # fmt: skip
    rows = np.array([curve, np.linspace(0.0, 0.9, 10)])
    np.testing.assert_allclose(curve_cancel_prob([300.0, 500.0], rows), [0.037, 0.15])


def test_top_k_mask():
    order = np.array([0, 0, 0, 1, 1, 0])
    dist = np.array([5.0, 1.0, 3.0, 2.0, 1.0, 0.5])
    np.testing.assert_array_equal(top_k_mask(order, dist, 2), [0, 1, 0, 1, 1, 1])
    assert top_k_mask(order, dist, 0).all()
    np.testing.assert_array_equal(top_k_mask(order, dist, 1), [0, 0, 0, 0, 1, 1])


def test_negative_pairs_dropped_or_served(city):
    v = _value(city, [20.0, 0.0])
    # a driver in a rich cell (V = 20) asked to carry a fare of 1 to a poor cell: A < 0
    b = _batch([0], [0], [100.0], [10.0], [0], [1.0], [600.0], [1])
    assert advantage(b, v)[0] < 0
    drop = ValueDispatch(v, ValueDispatchConfig(drop_negative=True))
    drop.reset(_context(city))
    assert drop.dispatch(b).size == 0
    serve = ValueDispatch(v, ValueDispatchConfig(drop_negative=False))
    serve.reset(_context(city))
    np.testing.assert_array_equal(serve.dispatch(b), [0])


def test_serving_more_orders_comes_first_without_dropping(city):
    v = _value(city, [0.0, 99.5])
    # A(d0,o0) = 100, A(d0,o1) = 1, A(d1,o0) = 100 − 99.5 = 0.5 (d1 sits in a rich cell):
    # the heaviest matching is {d0-o0} alone, the largest is {d0-o1, d1-o0}
    b = _batch([0, 0, 1], [0, 1, 0], [0.0] * 3, [0.0] * 3, [0, 0, 1], [100.0, 1.0], [600.0, 600.0],
               [0, 0])  # fmt: skip
    np.testing.assert_allclose(advantage(b, v), [100.0, 1.0, 0.5])
    for drop, want in ((True, [0]), (False, [1, 2])):
        p = ValueDispatch(v, ValueDispatchConfig(drop_negative=drop))
        p.reset(_context(city))
        np.testing.assert_array_equal(p.dispatch(b), want)


def test_a_pair_bonus_trades_advantage_for_served_orders(city):
    # the round above: {d0-o0} weighs 100 + b, {d0-o1, d1-o0} 1.5 + 2b, so the larger matching
    # wins once the bonus exceeds 98.5
    v = _value(city, [0.0, 99.5])
    b = _batch([0, 0, 1], [0, 1, 0], [0.0] * 3, [0.0] * 3, [0, 0, 1], [100.0, 1.0], [600.0, 600.0],
               [0, 0])  # fmt: skip
    for bonus, want in ((0.0, [0]), (98.0, [0]), (99.0, [1, 2]), (1e6, [1, 2])):
        p = ValueDispatch(v, ValueDispatchConfig(pair_bonus=bonus))
        p.reset(_context(city))
        np.testing.assert_array_equal(p.dispatch(b), want)
    # a lone pair of negative advantage is served only when the bonus covers it
    v = _value(city, [20.0, 0.0])
    b = _batch([0], [0], [100.0], [10.0], [0], [1.0], [600.0], [1])
    a = float(advantage(b, v)[0])
    for bonus, want in ((-a - 0.01, []), (-a + 0.01, [0])):
        p = ValueDispatch(v, ValueDispatchConfig(pair_bonus=bonus))
        p.reset(_context(city))
        np.testing.assert_array_equal(p.dispatch(b), want)


def test_a_round_with_drivers_to_spare_serves_what_the_bonus_would_leave(city):
    # the lone pair above, whose advantage the bonus does not cover: one driver per order
    v = _value(city, [20.0, 0.0])
    b = _batch([0], [0], [100.0], [10.0], [0], [1.0], [600.0], [1])
    bonus = -float(advantage(b, v)[0]) - 0.01
    for slack, want in ((None, []), (1.01, []), (1.0, [0]), (0.5, [0])):
        cfg = ValueDispatchConfig(pair_bonus=bonus, slack_drivers_per_order=slack)
        p = ValueDispatch(v, cfg)
        p.reset(_context(city))
        np.testing.assert_array_equal(p.dispatch(b), want)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"slack_drivers_per_order": 1.0}, "slack_drivers_per_order needs a pair_bonus"),
        ({"pair_bonus": 1.0, "slack_drivers_per_order": 0.0}, "must be > 0, got 0.0"),
    ],
)
def test_a_bad_supply_rule_is_refused(params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ValueDispatchConfig(**params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pair_bonus": -1.0}, "pair_bonus must be >= 0, got -1.0"),
        ({"pair_bonus": float("inf")}, "pair_bonus must be a finite number, got inf"),
        ({"pair_bonus": float("nan")}, "pair_bonus must be a finite number, got nan"),
        ({"pair_bonus": 1.0, "drop_negative": True}, "pair_bonus and drop_negative: give one"),
    ],
)
def test_a_bad_pair_bonus_is_refused(params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ValueDispatchConfig(**params)


def test_matching_is_the_best_matching_by_brute_force(city):
    rng = np.random.default_rng(5)
    v = _value(city, rng.uniform(0, 10, 7))
    pol = ValueDispatch(v, ValueDispatchConfig(drop_negative=True, top_k=0))
    pol.reset(_context(city))
    for _ in range(20):
        pairs = [(d, o) for d in range(4) for o in range(3) if rng.random() < 0.6]
        if not pairs:
            continue
        drv, odr = map(np.array, zip(*pairs, strict=True))
        b = _batch(drv, odr, rng.uniform(0, 2000, drv.size), rng.uniform(0, 400, drv.size),
                   rng.integers(0, 7, drv.size), rng.uniform(1, 20, 3), rng.uniform(100, 2000, 3),
                   rng.integers(0, 7, 3))  # fmt: skip
        w = pol.weights(b)
        best = 0.0
        for r in range(1, len(pairs) + 1):
            for sub in itertools.combinations(range(len(pairs)), r):
                if len(set(drv[list(sub)])) == r and len(set(odr[list(sub)])) == r:
                    best = max(best, float(np.maximum(w[list(sub)], 0).sum()))
        sel = pol.dispatch(b)
        assert float(w[sel].sum()) == pytest.approx(best)


def test_pickup_penalty_and_top_k(city):
    v = _value(city, [0.0] * 7)
    b = _batch([0, 1], [0, 0], [500.0, 1500.0], [0.0, 0.0], [0, 0], [10.0], [600.0], [0])
    p = ValueDispatch(v, ValueDispatchConfig(pickup_penalty_per_km=2.0))
    p.reset(_context(city))
    np.testing.assert_allclose(p.weights(b), [9.0, 7.0])
    far = ValueDispatch(_value(city, [0.0, 9.0]), ValueDispatchConfig(top_k=1))
    b2 = _batch([0, 1], [0, 0], [500.0, 1500.0], [0.0, 0.0], [0, 1], [10.0], [600.0], [0])
    far.reset(_context(city))
    np.testing.assert_array_equal(far.dispatch(b2), [0])  # the nearer one, whatever V says


def test_observe_learns_and_ensembles_on_schedule(city):
    on = _value(city, [0.0] * 7)
    off = _value(city, [10.0] * 7)
    online = OnlineTrainConfig(ensemble_every_s=60.0, omega=0.5, daily_reset="offline")
    p = ValueDispatch(on, learner=PopulationOnlineTD(lr=0.5), offline=off, online=online)
    assert p.learns_online
    p.reset(_context(city, start_s=0.0))
    np.testing.assert_allclose(on.table, 10.0)  # the day starts from the offline values
    on.table[:] = 0.0
    b = _batch([0], [0], [0.0], [0.0], [0], [1.0], [600.0], [1], t=30.0)
    idle = RoundOutcome(b, np.zeros(0, int), np.zeros(0, bool), np.array([0]), np.array([3]),
                        np.zeros(1), np.zeros(1))  # fmt: skip
    p.observe(idle)  # t = 30 < 60: a TD step only, no blend; V(3) stays 0
    assert on.table.sum() == 0.0
    b60 = _batch([0], [0], [0.0], [0.0], [0], [1.0], [600.0], [1], t=61.0)
    p.observe(RoundOutcome(b60, np.zeros(0, int), np.zeros(0, bool), np.zeros(0, int),
                           np.zeros(0, int), np.zeros(0), np.zeros(0)))  # fmt: skip
    np.testing.assert_allclose(on.table, 5.0)  # blended once
    p.observe(RoundOutcome(b60, np.zeros(0, int), np.zeros(0, bool), np.zeros(0, int),
                           np.zeros(0, int), np.zeros(0), np.zeros(0)))  # fmt: skip
    np.testing.assert_allclose(on.table, 5.0)  # not again before t = 120


def test_daily_reset_zero_and_config_errors(city):
    v = _value(city, [4.0] * 7)
    p = ValueDispatch(v, online=OnlineTrainConfig(daily_reset="zero"))
    assert not p.learns_online
    p.reset(_context(city))
    assert not v.table.any()
    with pytest.raises(ConfigError, match="offline"):
        ValueDispatch(v, online=OnlineTrainConfig(daily_reset="offline"))
    for bad in ({"top_k": -1}, {"cancel_model": "x"}, {"duration": "x"},
                {"pickup_penalty_per_km": -1.0}):  # fmt: skip
        with pytest.raises(ConfigError):
            ValueDispatchConfig(**bad)  # type: ignore[arg-type]
    for bad in ({"omega": 2.0}, {"ensemble_every_s": 0.0}, {"daily_reset": "x"}):
        with pytest.raises(ConfigError):
            OnlineTrainConfig(**bad)  # type: ignore[arg-type]


def test_sim_cancel_model_uses_per_order_curves(city):
    v = _value(city, [0.0] * 7)
    cp = np.array([np.linspace(0.1, 1.0, 10)])
    b = _batch([0], [0], [200.0], [0.0], [0], [10.0], [600.0], [0], cp=cp)
    p = ValueDispatch(v, ValueDispatchConfig(cancel_factor=True, cancel_model="sim"))
    p.reset(_context(city))
    np.testing.assert_allclose(p.weights(b), [10.0 * 0.9])
    b2 = _batch([0], [0], [200.0], [0.0], [0], [10.0], [600.0], [0])
    np.testing.assert_allclose(p.weights(b2), [10.0 * (1 - SimConfig().cancel_curve[0])])


@pytest.mark.parametrize("field", ["cancel_model", "duration"])
def test_config_refuses_an_unknown_mode(field: str) -> None:
    with pytest.raises(ConfigError, match=f"^value dispatch: {field} must be one of "):
        ValueDispatchConfig(**{field: "bogus"})
    with pytest.raises(ConfigError, match="^online learning: daily_reset must be one of "):
        OnlineTrainConfig(daily_reset="bogus")  # type: ignore[arg-type]
