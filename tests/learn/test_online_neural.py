"""V1D3's online part: the residual population TD step and the ensemble step on numbers, the
neural variant's Adam step and parameter blend."""

from __future__ import annotations

import dataclasses

import h3
import numpy as np
import pytest
import torch

from v1d3.demand.orders import Orders
from v1d3.dispatch.advantage import ValueDispatch
from v1d3.errors import ConfigError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.online_neural import (
    NeuralOnline,
    ResidualOnline,
    parameter_ensemble,
    residual_ensemble,
)
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.value.cvnet import CVNet, CVNetConfig, CVNetValue, build_vocabulary
from v1d3.value.online import OnlineCVNetValue, ResidualValue
from value_fixtures import GAMMA, CellValue, three_cell_city

G_ROUND = GAMMA ** (2.0 / 600.0)


@pytest.fixture(scope="module")
def city():
    return three_cell_city()


def _round(city, t: float = 1_000.0) -> RoundOutcome:
    """Driver 0 (cell 0) serves order 0: fare 10, pickup 60 s + trip 540 s (k = 1 unit) to
    cell 1; drivers 1 (cell 0) and 2 (cell 2) stay idle."""
    lat, lng = city.cell_lat, city.cell_lng
    orders = Orders(
        t_request=np.array([t]),
        o_lat=lat[[0]],
        o_lng=lng[[0]],
        d_lat=lat[[1]],
        d_lng=lng[[1]],
        trip_s=np.array([540.0]),
        trip_m=np.array([3000.0]),
        fare=np.array([10.0]),
        o_zone=np.array([-1]),
        d_zone=np.array([-1]),
        source_id=np.array([0]),
    )
    batch = CandidateBatch(
        t,
        2,
        driver=np.array([0]),
        order=np.array([0]),
        pickup_m=np.array([400.0]),
        pickup_s=np.array([60.0]),
        driver_lat=lat[[0]],
        driver_lng=lng[[0]],
        driver_cell=np.array([0]),
        orders=orders,
        order_o_cell=np.array([0]),
        order_d_cell=np.array([1]),
    )
    idle = np.array([0, 2])
    return RoundOutcome(
        batch,
        selected=np.array([0]),
        cancelled=np.array([False]),
        idle_driver=np.array([1, 2]),
        idle_cell=idle,
        idle_lat=lat[idle],
        idle_lng=lng[idle],
    )


def _context(city, start_s: float = 0.0) -> DayContext:
    return DayContext(city, 2, start_s, 86_400.0, SimConfig(), np.random.default_rng(0))


def test_residual_population_step_on_numbers(city):
    off = CellValue([10.0, 20.0, 30.0])
    on = ResidualValue(off, bucket_s=3600.0)
    on.bind(city, 2)
    learner = ResidualOnline(lr=0.1, centred=False)
    learner.reset(_context(city))
    learner.update(_round(city), on)
    # dispatched: target R_γ(10, 1) + γ V(s') = 10 + 0.9 · 20 = 28 against V(s) = 10;
    # idle at cell 0: γ_round · 10 − 10; idle at cell 2: γ_round · 30 − 30 (sum per entry)
    d0 = 0.1 * ((28.0 - 10.0) + (G_ROUND * 10.0 - 10.0))
    d2 = 0.1 * (G_ROUND * 30.0 - 30.0)
    assert on.residual[0] == pytest.approx([d0, 0.0, d2])
    assert (on.residual[1:] == 0).all()  # only the round's hour moved
    cell = np.array([0, 1, 2])
    assert on.value(cell, 0, 0, np.full(3, 1_500.0)) == pytest.approx([10 + d0, 20, 30 + d2])
    assert on.value(cell, 0, 0, np.full(3, 4_000.0)) == pytest.approx([10, 20, 30])
    # a new day starts from the offline values again
    on.bind(city, 3)
    assert (on.table == 0).all()


def test_idle_step_uses_the_time_since_the_last_observed_round(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), bucket_s=None)
    on.bind(city, 2)
    outcome = dataclasses.replace(_round(city), dt_s=10.0)
    ResidualOnline(lr=0.1, centred=False).update(outcome, on)
    g10 = GAMMA ** (10.0 / 600.0)
    assert on.residual[0, 2] == pytest.approx(0.1 * (g10 * 30.0 - 30.0))


def test_residual_by_cell_only(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), bucket_s=None)
    on.bind(city, 2)
    ResidualOnline(lr=0.1, centred=False).update(_round(city), on)
    assert on.residual.shape == (1, 3)
    assert on.value(np.array([0]), 0, 0, np.array([50_000.0]))[0] > 10.0


def test_ensemble_step_on_numbers(city):
    off = CellValue([10.0, 20.0, 30.0])
    on = ResidualValue(off, bucket_s=None)
    on.bind(city, 2)
    on.residual[0] = [5.0, -10.0, 0.0]
    cell = np.array([0, 1, 2])
    t = np.full(3, 7_200.0)
    before = on.value(cell, 0, 0, t)
    residual_ensemble(on, off, 0.2, 7_200.0)
    # V_on ← 0.2 V_on + 0.8 V_off
    assert on.value(cell, 0, 0, t) == pytest.approx(0.2 * before + 0.8 * off.value(cell, 0, 0, t))
    assert on.residual[0] == pytest.approx([1.0, -2.0, 0.0])
    with pytest.raises(ConfigError, match="omega"):
        on.blend(1.5)


def test_dispatch_policy_blends_every_hour(city):
    off = CellValue([10.0, 20.0, 30.0])
    on = ResidualValue(off, bucket_s=None)
    online = OnlineTrainConfig(ensemble_every_s=3600.0, omega=0.2)
    learner = ResidualOnline(0.1, centred=False)
    policy = ValueDispatch(on, None, learner, off, residual_ensemble, online=online)
    policy.reset(_context(city))
    policy.observe(_round(city, t=1_000.0))
    d = on.table.copy()
    assert on.residual[0, 0] > 0
    policy.observe(_round(city, t=3_600.0))  # learn, then the hourly ensemble step
    step = ResidualValue(off, bucket_s=None)
    step.bind(city, 2)
    step.table[:] = d
    ResidualOnline(0.1, centred=False).update(_round(city, t=3_600.0), step)
    assert on.table == pytest.approx(0.2 * step.table)


def test_residual_learner_needs_a_residual_value(city):
    with pytest.raises(ConfigError, match="ResidualValue"):
        ResidualOnline().update(_round(city), CellValue([1.0, 2.0, 3.0]))


def _cvnet_value(city) -> CVNetValue:
    torch.manual_seed(0)
    cfg = CVNetConfig(embed_dim=8, hidden=(16,), gamma=GAMMA)
    value = CVNetValue(CVNet(cfg, build_vocabulary(city, cfg), 8, value_scale=20.0))
    value.bind(city, 2)
    return value


def _population_loss(value: OnlineCVNetValue, outcome: RoundOutcome) -> float:
    learner = NeuralOnline()
    b = outcome.batch
    v1 = value.value(np.array([1, 0, 2]), 0, 0, np.array([b.t + 600.0, b.t + 2, b.t + 2]))
    tgt = np.array([10.0 + GAMMA * v1[0], G_ROUND * v1[1], G_ROUND * v1[2]])
    v0 = value.value(np.array([0, 0, 2]), 0, 0, np.full(3, b.t))
    del learner
    return float(((tgt - v0) ** 2).sum())


def test_neural_online_step_lowers_the_population_loss(city):
    offline = _cvnet_value(city)
    online = OnlineCVNetValue(offline)
    online.bind(city, 2)
    cell = np.arange(3)
    t = np.full(3, 1_000.0)
    assert np.allclose(online.value(cell, 0, 0, t), offline.value_exact(cell, t), atol=1e-4)
    outcome = _round(city)
    before = _population_loss(online, outcome)
    learner = NeuralOnline(lr=1e-2)
    learner.reset(_context(city))
    learner.update(outcome, online)
    assert _population_loss(online, outcome) < before
    # the offline net is untouched
    assert np.allclose(offline.value(cell, 0, 0, t), offline.value_exact(cell, t), atol=1e-3)


def test_parameter_ensemble_on_numbers(city):
    offline = _cvnet_value(city)
    online = OnlineCVNetValue(offline)
    online.bind(city, 2)
    with torch.no_grad():
        for p in online.net.parameters():
            p.add_(1.0)
    residual_ensemble(online, offline, 0.2, 0.0)
    off = dict(offline.net.named_parameters())
    for name, p in online.net.named_parameters():
        assert torch.allclose(p, off[name] + 0.2, atol=1e-6)
    # binding again restarts from the offline weights
    online.bind(city, 2)
    for name, p in online.net.named_parameters():
        assert torch.equal(p, off[name])
    with pytest.raises(ConfigError):
        parameter_ensemble(online, CellValue([1.0, 2.0, 3.0]), 0.2)


def _td_errors() -> tuple[float, float, float]:
    """TD errors of the three drivers of :func:`_round` against CellValue([10, 20, 30])."""
    return 28.0 - 10.0, G_ROUND * 10.0 - 10.0, G_ROUND * 30.0 - 30.0


def test_coarse_coded_residual_shares_a_step_with_the_parent_cell(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), bucket_s=None, parents=(7, 6))
    on.bind(city, 2)
    ResidualOnline(lr=0.1, centred=False).update(_round(city), on)
    # each driver's TD error moves its cell's entry and its parents' entries by lr · δ
    cell_of = dict(enumerate([0, 0, 2]))  # driver -> cell
    delta = _td_errors()
    ids = [h3.str_to_int(s) for s in city.labels]
    want = []
    for c in range(3):
        own = sum(0.1 * d for i, d in enumerate(delta) if cell_of[i] == c)
        shared = 0.0
        for res in (7, 6):
            p = h3.api.basic_int.cell_to_parent(ids[c], res)
            shared += sum(
                0.1 * d
                for i, d in enumerate(delta)
                if h3.api.basic_int.cell_to_parent(ids[cell_of[i]], res) == p
            )
        want.append([10.0, 20.0, 30.0][c] + own + shared)
    got = on.value(np.arange(3), 0, 0, np.full(3, 2_000.0))
    assert got == pytest.approx(want)
    assert on.residual[0] == pytest.approx([0.1 * (delta[0] + delta[1]), 0.0, 0.1 * delta[2]])
    on.blend(0.2)
    got2 = on.value(np.arange(3), 0, 0, np.full(3, 2_000.0))
    assert got2 - [10.0, 20.0, 30.0] == pytest.approx(0.2 * (np.array(want) - [10, 20, 30]))


def test_centred_step_removes_the_round_mean(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), bucket_s=None)
    on.bind(city, 2)
    ResidualOnline(lr=0.1, centred=True).update(_round(city), on)
    delta = np.array(_td_errors())
    c = delta - delta.mean()
    assert on.residual[0] == pytest.approx([0.1 * (c[0] + c[1]), 0.0, 0.1 * c[2]])
    assert on.table.sum() == pytest.approx(0.0, abs=1e-12)  # no level shift


def test_horizon_fades_the_correction_into_the_future(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), horizon_s=600.0)
    on.bind(city, 2)
    learner = ResidualOnline(lr=0.1, centred=False)
    learner.update(_round(city, t=1_000.0), on)
    assert on.now_s == 1_000.0
    d0 = on.residual[0, 0]
    assert d0 != 0
    cell = np.array([0, 0, 0])
    got = on.value(cell, 0, 0, np.array([900.0, 1_000.0, 1_600.0]))
    assert got == pytest.approx([10 + d0, 10 + d0, 10 + d0 / np.e])
    # the dispatched driver's target reads its drop-off 600 s ahead with the correction faded
    on2 = ResidualValue(CellValue([10.0, 20.0, 30.0]), horizon_s=600.0)
    on2.bind(city, 2)
    on2.add(np.array([1]), np.array([0.0]), np.array([5.0]))
    learner.update(_round(city, t=1_000.0), on2)
    faded = 0.1 * ((10.0 + GAMMA * (20.0 + 5.0 / np.e) - 10.0) + (G_ROUND * 10.0 - 10.0))
    assert on2.residual[0, 0] == pytest.approx(faded)
    with pytest.raises(ConfigError, match="horizon_s must be > 0"):
        ResidualValue(CellValue([1.0, 2.0, 3.0]), horizon_s=0.0)


def test_forgetting_fades_the_correction_every_round(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]))
    on.bind(city, 2)
    on.add(np.array([2]), np.array([0.0]), np.array([5.0]))
    quiet = dataclasses.replace(
        _round(city), selected=np.zeros(0, dtype=np.int64), cancelled=np.zeros(0, dtype=bool),
        idle_driver=np.zeros(0, dtype=np.int64), idle_cell=np.zeros(0, dtype=np.int64),
        idle_lat=np.zeros(0), idle_lng=np.zeros(0), dt_s=60.0,
    )  # fmt: skip
    ResidualOnline(lr=0.1, forget_s=600.0).update(quiet, on)
    assert on.residual[0, 2] == pytest.approx(5.0 * np.exp(-0.1))
    with pytest.raises(ConfigError, match="forget_s must be > 0"):
        ResidualOnline(forget_s=-1.0)
    with pytest.raises(ConfigError, match="forget_s must be > 0"):
        OnlineTrainConfig(forget_s=0.0)
