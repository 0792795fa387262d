"""The field's rebalancers on hand-solved instances: exact moves, nearest drivers first, the
literal Zhang–Pavone integer program, no look at the day's future orders, and full runs."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from scenario_fixtures import small_synthetic
from v1d3.demand.forecast import DepartureForecast, historical_forecast
from v1d3.dispatch.baselines import DistanceMatching
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.geo.city import hex_grid_city
from v1d3.geo.projection import LocalProjection
from v1d3.geo.travel import ConstantSpeed
from v1d3.policies import REPOSITION, make_reposition
from v1d3.reposition.base import RepositionBatch
from v1d3.reposition.rebalance import (
    MinCostFlowConfig,
    MinCostFlowRebalancing,
    ZhangPavoneRebalancing,
)
from v1d3.reposition.transport import Zones, transport
from v1d3.rounds import DayContext
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.log import REPOSITION as REPOSITION_EVENT
from v1d3.sim.scenario import build_scenario

A, B, C, D = range(4)
XY = np.array([[0.0, 0.0], [0.0, 2000.0], [3000.0, 0.0], [3000.0, 2000.0]])
"""Four cells on a rectangle: A–C and B–D 3 km, A–B and C–D 2 km, diagonals √13 km."""


@pytest.fixture(scope="module")
def city():
    proj = LocalProjection(40.7, -74.0)
    lat, lng = proj.to_latlng(XY[:, 0], XY[:, 1])
    return hex_grid_city("rect", ["a", "b", "c", "d"], lat, lng, ConstantSpeed(10.0))


def _reset(policy, city):
    policy.reset(DayContext(city, 2, 0.0, 86400.0, SimConfig(), np.random.default_rng(0)))
    return policy


def _batch(city, cells, supply, waiting=None, offsets=None, t=8 * 3600.0):
    """Due drivers at the centres of ``cells`` (plus ``offsets``, metres)."""
    cells = np.asarray(cells)
    xy = np.column_stack([city.cell_x[cells], city.cell_y[cells]])
    if offsets is not None:
        xy = xy + np.asarray(offsets, dtype=np.float64)
    lat, lng = city.proj.to_latlng(xy[:, 0], xy[:, 1])
    n = cells.size
    return RepositionBatch(
        t=t, weekday=2, driver=np.arange(n), lat=np.asarray(lat), lng=np.asarray(lng),
        cell=cells, idle_s=np.full(n, 300.0), unserved_by_cell=np.zeros(4, np.int64),
        idle_by_cell=np.asarray(supply), supply_by_cell=np.asarray(supply),
        waiting_by_cell=None if waiting is None else np.asarray(waiting),
    )  # fmt: skip


def _forecast(per_half_hour):
    """A forecast with the given departures per cell in every half hour (two 15-min slots)."""
    return DepartureForecast(900.0, np.tile(np.asarray(per_half_hour) / 2.0, (96, 1)))


def test_min_cost_flow_hand_solved(city):
    # departures 0, 0, 20, 40 → targets 0, 0, round(0.1·20 + 0.5) = 3, round(0.1·40 + 0.5) = 5
    p = _reset(
        MinCostFlowRebalancing(_forecast([0, 0, 20, 40]), MinCostFlowConfig(alpha=0.1)), city
    )
    target, anchor = p.targets(8 * 3600.0)
    np.testing.assert_array_equal(target, [0, 0, 3, 5])
    # vehicles 4, 2, 1, 2; due 4 at A, 1 at B → surplus A 4, B 1; deficit C 2, D 3.
    # B→D, 2·A→C, 2·A→D costs 3 + 6 + 2·√13 = 16.2 km; B→C instead costs 17.4 km
    dest = p.reposition(_batch(city, [A, A, A, A, B], [4, 2, 1, 2]))
    assert dest[4] == D
    assert sorted(dest[:4].tolist()) == [C, C, D, D]


def test_min_cost_flow_holds_targets_for_the_period(city):
    counts = np.zeros((96, 4))
    counts[32:34, D] = 20.0  # 8:00-8:30: 40 departures at D
    p = _reset(MinCostFlowRebalancing(DepartureForecast(900.0, counts)), city)
    batch = _batch(city, [A], [1, 0, 0, 0], t=8 * 3600.0 + 60)
    assert p.reposition(batch)[0] == D  # target at D: round(0.03·40 + 0.5) = 2
    # the target of 8:00-8:30 holds until 8:30, then D has no forecast demand: A keeps its driver
    assert p.reposition(dataclasses.replace(batch, t=8 * 3600.0 + 1700))[0] == D
    assert p.reposition(dataclasses.replace(batch, t=8.5 * 3600.0))[0] == A


def test_only_due_drivers_move_and_unmanaged_count(city):
    p = _reset(MinCostFlowRebalancing(_forecast([0, 0, 0, 40]), MinCostFlowConfig(alpha=0.1)), city)
    # A has 5 vehicles, 1 due; D wants 5 and has 0: only the due one moves
    assert p.reposition(_batch(city, [A], [5, 0, 0, 0])).tolist() == [D]
    # D already has its 5 (unmanaged or heading there): nobody moves
    assert p.reposition(_batch(city, [A], [5, 0, 0, 5])).tolist() == [A]


def test_nearest_vehicles_first(city):
    p = _reset(MinCostFlowRebalancing(_forecast([0, 0, 0, 10]), MinCostFlowConfig(alpha=0.1)), city)
    # one move A→D (target 2, 1 there); of three due drivers at A the one nearest D goes
    offsets = [[-100.0, 0.0], [300.0, 300.0], [0.0, -200.0]]
    dest = p.reposition(_batch(city, [A, A, A], [3, 0, 0, 1], offsets=offsets))
    assert dest.tolist() == [A, D, A]


def test_zhang_pavone_hand_solved(city):
    # vehicles 5, 1, 0, 2 and 2 waiting at C: excess 5, 1, −2, 2, desired floor(6 / 4) = 1.
    # Due: 3 at A, 1 at D → surplus A 3, D 1; C needs 3: D→C (2 km) and 2·A→C (3 km)
    p = _reset(ZhangPavoneRebalancing(), city)
    batch = _batch(city, [A, A, A, D], [5, 1, 0, 2], waiting=[0, 0, 2, 0],
                   offsets=[[0.0, 0.0], [0.0, 400.0], [300.0, 0.0], [0.0, 0.0]])  # fmt: skip
    excess, desired = p.desired(batch)
    assert excess.tolist() == [5, 1, -2, 2] and desired == 1
    # the two of A's drivers nearest C go; the one 400 m towards B stays
    assert p.reposition(batch).tolist() == [C, A, C, C]


def _literal_zhang_pavone(cost, excess, desired, movable):
    """min M·Σ s + Σ T x s.t. e_i + Σ_j (x_ji − x_ij) + s_i ≥ desired, Σ_j x_ij ≤ movable_i,
    x, s integral: the paper's program, with slack where the due drivers cannot reach it."""
    n = excess.size
    m = 10.0 * cost.max() + 1.0
    c = np.r_[cost.ravel(), np.full(n, m)]
    bal = np.zeros((n, n * n + n))
    out = np.zeros((n, n * n + n))
    for i in range(n):
        for j in range(n):
            bal[j, i * n + j] += 1.0  # into j
            bal[i, i * n + j] -= 1.0  # out of i
            out[i, i * n + j] = 1.0
        bal[i, n * n + i] = 1.0
    upper = np.r_[np.where(np.eye(n, dtype=bool), 0, np.inf).ravel(), np.full(n, np.inf)]
    res = milp(
        c,
        constraints=[LinearConstraint(bal, desired - excess, np.inf),
                     LinearConstraint(out, 0, movable)],
        integrality=np.ones(c.size),
        bounds=Bounds(0, upper),
    )  # fmt: skip
    assert res.success
    x = np.rint(res.x[: n * n]).reshape(n, n)
    return x, np.rint(res.x[n * n :]).sum()


def test_zhang_pavone_reduction_matches_the_integer_program():
    rng = np.random.default_rng(5)
    for _ in range(40):
        n = int(rng.integers(3, 6))
        pts = rng.random((n, 2)) * 5000
        cost = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        excess = rng.integers(-3, 6, n)
        movable = rng.integers(0, 4, n)
        desired = int(excess.sum() // n)
        x_ref, slack_ref = _literal_zhang_pavone(cost, excess, desired, movable)
        delta = np.minimum(excess - desired, movable)
        src, dst = np.flatnonzero(delta > 0), np.flatnonzero(delta < 0)
        flow = transport(cost[np.ix_(src, dst)], delta[src], -delta[dst])
        x = np.zeros((n, n))
        x[np.ix_(src, dst)] = flow
        after = excess + x.sum(0) - x.sum(1)
        assert np.maximum(desired - after, 0).sum() == slack_ref
        assert np.isclose((cost * x).sum(), (cost * x_ref).sum())


def test_transport_assignment_and_lp_agree(monkeypatch):
    import v1d3.reposition.transport as tp

    rng = np.random.default_rng(1)
    cost = rng.random((5, 7)) * 100
    supply, demand = rng.integers(0, 5, 5), rng.integers(0, 4, 7)
    flow = transport(cost, supply, demand)
    monkeypatch.setattr(tp, "EXPAND_MAX", 0)
    flow_lp = transport(cost, supply, demand)
    assert flow.sum() == flow_lp.sum() == min(supply.sum(), demand.sum())
    assert np.isclose((cost * flow).sum(), (cost * flow_lp).sum())
    assert (flow.sum(1) <= supply).all() and (flow.sum(0) <= demand).all()


def test_zones_join_cells_outside_every_zone(city):
    zoned = dataclasses.replace(city, cell_zone=np.array([7, 7, 3, -1], dtype=np.int32))
    z = Zones.of(zoned, "city")
    assert z.n == 2
    assert z.of_cell.tolist() == [1, 1, 0, 0]  # D (outside) joins C's zone 3, the nearest
    assert z.travel_zone.tolist() == [3, 7]
    assert Zones.of(zoned, "cells").n == 4


class _Recorder(MinCostFlowRebalancing):
    """Records every call's clock, drivers and answers."""

    calls: list[tuple[float, list[int], list[int]]]

    def reset(self, context):
        super().reset(context)
        self.calls = []

    def reposition(self, batch):
        dest = super().reposition(batch)
        self.calls.append((batch.t, batch.driver.tolist(), dest.tolist()))
        return dest


def test_answers_do_not_depend_on_future_orders():
    cfg = small_synthetic(hours=1.0)
    sim = SimConfig(managed_share=0.5, reposition_after_s=60.0)
    full = build_scenario(cfg, sim, seed=4)
    cut_s = full.start_s + 1800.0
    keep = full.orders.t_request < cut_s
    cut = dataclasses.replace(
        full, orders=full.orders.window(0.0, cut_s), o_cell=full.o_cell[keep],
        d_cell=full.d_cell[keep],
    )  # fmt: skip
    assert len(cut.orders) < len(full.orders)
    calls = []
    for scenario in (full, cut):
        p = _Recorder(functools.partial(historical_forecast, cfg, 2))
        s = Simulator(scenario, 4)
        s.reset(DistanceMatching(), p)
        while not s.done and s.t < cut_s - 2.0:
            s.step()
        calls.append([c for c in p.calls if c[0] < cut_s])
    assert calls[0] and any(c[1] != c[2] for c in calls[0])  # the policy did move drivers
    assert calls[0] == calls[1]


@pytest.mark.parametrize("name", ["min-cost-flow", "zhang-pavone"])
def test_full_run_with_each_name(name):
    assert name in REPOSITION
    cfg = RunConfig(
        scenario=small_synthetic(hours=1.0), sim=SimConfig(managed_share=0.5),
        dispatch="distance", reposition=name, seed=2,
    )  # fmt: skip
    res = run_simulation(cfg)  # checked by the run checker
    assert (res.log.events["kind"] == REPOSITION_EVENT).sum() > 0
    assert res.policies["reposition"]["config"]["zones"] == "city"


def test_bad_parameters_and_replayed_days_are_refused():
    with pytest.raises(ConfigError, match="period_s"):
        MinCostFlowConfig(period_s=10.0)
    with pytest.raises(ConfigError, match="zones"):
        make_reposition("zhang-pavone", zones="hexes")
    with pytest.raises(ConfigError, match="replays one real date"):
        make_reposition("min-cost-flow", scenario=small_synthetic(name="nyc-tlc"))
