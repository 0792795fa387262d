"""TD learners on numbers and on a two-cell chain whose values are known in closed form.

The chain: a driver in A always serves a trip to B paying 1 over one time unit; a driver in B
always serves a trip back to A paying 0 over one unit. With ``n`` units left in the day,

    V_A(n) = Σ_{j even, j < n} γ^j = (1 − γ^(2⌈n/2⌉)) / (1 − γ²)
    V_B(n) = Σ_{j odd,  j < n} γ^j = γ (1 − γ^(2⌊n/2⌋)) / (1 − γ²)

and without an end of day (n → ∞): V_A = 1 / (1 − γ²), V_B = γ / (1 − γ²).
"""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.learn.td import (
    ChampionOnlineTD,
    PopulationOnlineTD,
    ensemble_step,
    fit_tabular_offline,
    td_targets,
)
from v1d3.learn.transitions import Transitions
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.value.base import Discount, champion_units, discounted_reward
from v1d3.value.tabular import LocationValue, TabularValue

GAMMA = 0.9
UNIT = 600.0


def chain_values(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g2 = GAMMA**2
    va = (1 - g2 ** np.ceil(n / 2)) / (1 - g2)
    vb = GAMMA * (1 - g2 ** np.floor(n / 2)) / (1 - g2)
    return va, vb


def test_discounted_fare_and_td_target_by_hand():
    # R_gamma(10, 2) = 10 (0.81 − 1) / (2 (0.9 − 1)) = 9.5
    np.testing.assert_allclose(
        discounted_reward(np.array([10.0, 10.0]), [2.0, 0.0], 0.9), [9.5, 10]
    )
    assert discounted_reward(np.array([4.0]), [3.0], 1.0)[0] == 4.0
    v = LocationValue(2, Discount(0.9, 600.0))
    v.table[:] = [3.0, 5.0]
    # 9.5 + 0.81 * 5 = 13.55, and 0 for the next value when terminal
    tgt = td_targets(
        v, v.discount, np.array([10.0, 10.0]), np.array([1200.0, 1200.0]),
        np.array([1, 1]), 0.0, 0.0, np.array([1200.0, 1200.0]), np.array([False, True]),
    )  # fmt: skip
    np.testing.assert_allclose(tgt, [13.55, 9.5])
    np.testing.assert_allclose(champion_units([300.0, 600.0, 1799.0]), [1.0, 1.0, 2.0])


def _chain_transitions(end_units: int, reps: int, rng: np.random.Generator) -> Transitions:
    t0 = np.repeat(np.arange(end_units) * UNIT, 2 * reps)
    n = t0.size
    from_a = np.tile(np.r_[np.ones(reps, bool), np.zeros(reps, bool)], end_units)
    reward = np.where(from_a, rng.uniform(0.0, 2.0, n), 0.0)  # mean 1
    t1 = t0 + UNIT
    end_s = end_units * UNIT
    return Transitions(
        cell0=np.where(from_a, 0, 1), lat0=np.zeros(n), lng0=np.zeros(n), t0_s=t0,
        reward=reward, cell1=np.where(from_a, 1, 0), lat1=np.zeros(n), lng1=np.zeros(n),
        t1_s=t1, weekday=np.zeros(n, np.int8), terminal=t1 >= end_s,
    )  # fmt: skip


def test_offline_tabular_learns_the_chain():
    rng = np.random.default_rng(0)
    n_units = 12
    tr = _chain_transitions(n_units, reps=400, rng=rng)
    # shuffle: the sweep must not depend on the row order
    tr = tr.take(rng.permutation(len(tr)))
    v = TabularValue(2, bucket_s=UNIT, discount=Discount(GAMMA, UNIT), end_s=n_units * UNIT)
    stats = fit_tabular_offline(tr, v)
    left = n_units - np.arange(n_units)
    va, vb = chain_values(left)
    np.testing.assert_allclose(v.values[0, :, 0], va, atol=0.08)
    np.testing.assert_allclose(v.values[0, :, 1], vb, atol=0.08)
    assert stats["transitions"] == len(tr) and stats["states"] == 2 * n_units
    assert (v.counts == 400).all()


def test_offline_exact_on_deterministic_rewards_and_1_over_n_is_a_mean():
    tr = _chain_transitions(6, reps=1, rng=np.random.default_rng(1))
    tr = Transitions(**{**tr.__dict__, "reward": np.where(tr.cell0 == 0, 1.0, 0.0)})
    v = TabularValue(2, bucket_s=UNIT, discount=Discount(GAMMA, UNIT), end_s=6 * UNIT)
    fit_tabular_offline(tr, v)
    va, vb = chain_values(6 - np.arange(6))
    np.testing.assert_allclose(v.values[0, :, 0], va, rtol=1e-12)
    np.testing.assert_allclose(v.values[0, :, 1], vb, rtol=1e-12)
    # two transitions from one state with targets 1 and 3 (terminal): V = mean = 2
    one = Transitions(
        cell0=[0, 0], lat0=[0, 0], lng0=[0, 0], t0_s=[0, 10], reward=[1.0, 3.0], cell1=[1, 1],
        lat1=[0, 0], lng1=[0, 0], t1_s=[0, 10], weekday=[0, 0], terminal=[True, True],
    )  # fmt: skip
    w = TabularValue(2, bucket_s=UNIT, end_s=UNIT)
    fit_tabular_offline(one, w)
    assert w.values[0, 0, 0] == pytest.approx(2.0)
    with pytest.raises(ConfigError):
        fit_tabular_offline(one, w, sweeps=0)


def test_offline_idle_steps_within_a_bucket_are_resolved():
    # A pays 1 (terminal) at 300 s; B waits 0 s... then moves to A at once (same bucket):
    # V_B = γ^0 V_A = V_A = 1
    tr = Transitions(
        cell0=[0, 1], lat0=[0, 0], lng0=[0, 0], t0_s=[300.0, 100.0], reward=[1.0, 0.0],
        cell1=[0, 0], lat1=[0, 0], lng1=[0, 0], t1_s=[300.0, 100.0], weekday=[0, 0],
        terminal=[True, False],
    )  # fmt: skip
    v = TabularValue(2, bucket_s=UNIT, end_s=UNIT)
    fit_tabular_offline(tr, v)
    np.testing.assert_allclose(v.values[0, 0], [1.0, 1.0])


def test_offline_per_weekday_fills_unseen_days():
    tr = _chain_transitions(2, reps=1, rng=np.random.default_rng(2))
    tr = Transitions(**{**tr.__dict__, "weekday": np.full(len(tr), 4, np.int8)})
    v = TabularValue(2, bucket_s=UNIT, discount=Discount(GAMMA, UNIT), end_s=2 * UNIT,
                     per_weekday=True)  # fmt: skip
    fit_tabular_offline(tr, v)
    np.testing.assert_allclose(v.values[0], v.values[4])
    assert v.values[4, 1, 0] > 0


# -- online


def _chain_round(t: float, idle_cells: np.ndarray) -> RoundOutcome:
    """One round: the driver in A serves a trip to B (fare 1), the driver in B one back to A
    (fare 0), both one unit long with no pickup; drivers in ``idle_cells`` stay idle."""
    orders = Orders(
        t_request=np.zeros(2), o_lat=np.zeros(2), o_lng=np.zeros(2), d_lat=np.zeros(2),
        d_lng=np.zeros(2), trip_s=np.full(2, UNIT), trip_m=np.full(2, 1000.0),
        fare=np.array([1.0, 0.0]), o_zone=np.full(2, -1), d_zone=np.full(2, -1),
        source_id=np.arange(2),
    )  # fmt: skip
    batch = CandidateBatch(
        t, 0, np.array([0, 1]), np.array([0, 1]), np.zeros(2), np.zeros(2), np.zeros(2),
        np.zeros(2), np.array([0, 1]), orders, np.array([0, 1]), np.array([1, 0]),
    )  # fmt: skip
    k = len(idle_cells)
    return RoundOutcome(
        batch, np.array([0, 1]), np.zeros(2, bool), np.arange(2, 2 + k), idle_cells,
        np.zeros(k), np.zeros(k),
    )  # fmt: skip


def _context(round_s: float = 2.0) -> DayContext:
    return DayContext(
        None,
        0,
        0.0,
        86400.0,
        SimConfig(round_s=round_s),
        np.random.default_rng(0),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "learner",
    [
        ChampionOnlineTD(alpha=0.1),
        ChampionOnlineTD(alpha=0.1, duration="exact"),
        PopulationOnlineTD(lr=0.1),
    ],  # fmt: skip
    ids=["champion", "champion-exact", "population"],
)
def test_online_learners_learn_the_chain(learner):
    v = LocationValue(3, Discount(GAMMA, UNIT))
    v.table[2] = 4.0  # an always-idle driver's cell: decays towards 0
    learner.reset(_context())
    for r in range(2000):
        learner.update(_chain_round(2.0 * r, np.array([2])), v)
    va, vb = 1 / (1 - GAMMA**2), GAMMA / (1 - GAMMA**2)
    np.testing.assert_allclose(v.table[:2], [va, vb], rtol=1e-3)
    # per-round decay: (1 + α (γ^(2/600) − 1))^2000
    g_round = GAMMA ** (2.0 / UNIT)
    assert v.table[2] == pytest.approx(4.0 * (1 + 0.1 * (g_round - 1)) ** 2000, rel=1e-9)


def test_champion_decay_per_unit_without_the_fix():
    v = LocationValue(3, Discount(GAMMA, UNIT))
    v.table[2] = 4.0
    learner = ChampionOnlineTD(alpha=0.025, per_round_decay=False)
    learner.reset(_context())
    for r in range(10):
        learner.update(_chain_round(2.0 * r, np.array([2])), v)
    assert v.table[2] == pytest.approx(4.0 * (1 + 0.025 * (GAMMA - 1)) ** 10)


def test_online_steps_by_hand_and_shared_cells_add_up():
    v = LocationValue(3, Discount(GAMMA, UNIT))
    v.table[:] = [2.0, 3.0, 1.0]
    ChampionOnlineTD(alpha=0.5).update(_chain_round(0.0, np.array([2, 2])), v)
    # A: 2 + 0.5 (1 + 0.9·3 − 2) = 2.85;  B: 3 + 0.5 (0 + 0.9·2 − 3) = 2.4
    # C, two idle drivers: 1 + 2 · 0.5 (0.9^(2/600) − 1) · 1
    expected_c = 1 + 2 * 0.5 * (GAMMA ** (2 / 600) - 1)
    np.testing.assert_allclose(v.table, [2.85, 2.4, expected_c])


def test_population_td_on_a_time_table_uses_the_next_round():
    # idle target γ^(round/unit) V(s, t + round): crossing into the next bucket reads it
    v = TabularValue(3, bucket_s=UNIT, discount=Discount(GAMMA, UNIT), end_s=2 * UNIT)
    v.values[0, 1, 2] = 10.0
    learner = PopulationOnlineTD(lr=1.0)
    learner.reset(_context(round_s=2.0))
    out = _chain_round(599.0, np.array([2]))
    learner.update(out, v)
    assert v.values[0, 0, 2] == pytest.approx(GAMMA ** (2 / 600) * 10.0)
    # and past the end of the day the next value is 0
    v.values[0, 1, 2] = 10.0
    learner.update(_chain_round(2 * UNIT - 1.0, np.array([2])), v)
    assert v.values[0, 1, 2] == pytest.approx(0.0)


def test_online_learners_refuse_non_tables():
    class Const:
        discount = Discount()

        def value(self, *a):  # pragma: no cover - never called
            return 0.0

    with pytest.raises(ConfigError, match="table"):
        PopulationOnlineTD().update(_chain_round(0.0, np.zeros(0, int)), Const())  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ChampionOnlineTD(alpha=0.0)
    with pytest.raises(ConfigError):
        PopulationOnlineTD(lr=2.0)


# -- ensemble


def test_ensemble_step_on_numbers():
    on = LocationValue(3)
    off = LocationValue(3)
    on.table[:] = [1.0, 2.0, 3.0]
    off.table[:] = [10.0, 20.0, 30.0]
    ensemble_step(on, off)  # ω = 0.2
    np.testing.assert_allclose(on.table, [8.2, 16.4, 24.6])
    ensemble_step(on, off, omega=0.0)
    np.testing.assert_allclose(on.table, off.table)
    with pytest.raises(ConfigError):
        ensemble_step(on, off, omega=1.5)
    with pytest.raises(ConfigError, match="sizes"):
        ensemble_step(on, LocationValue(4))


def test_ensemble_location_table_towards_a_time_table():
    from v1d3.demand.config import SyntheticConfig
    from v1d3.demand.synthetic import synthetic_city

    city = synthetic_city(SyntheticConfig(rings=1), 8)
    off = TabularValue(city.n_cells, bucket_s=UNIT)
    off.values[0, 1] = np.arange(city.n_cells, dtype=float)
    off.bind(city, 0)
    on = LocationValue(city.n_cells)
    on.table[:] = 5.0
    ensemble_step(on, off, omega=0.5, t_s=700.0)
    np.testing.assert_allclose(on.table, 0.5 * 5.0 + 0.5 * np.arange(city.n_cells))
    with pytest.raises(ConfigError, match="bind"):
        ensemble_step(on, TabularValue(city.n_cells))
