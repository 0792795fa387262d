"""Value repositioning: stay is always a candidate, richer cells chosen more often, caps hold,
and with the wait model crowded destinations lose by the expected wait there."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.forecast import FORECAST_SLOT_S, DepartureForecast
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import ConfigError
from v1d3.reposition.base import RepositionBatch
from v1d3.reposition.value import ValueReposition, ValueRepositionConfig
from v1d3.rounds import DayContext
from v1d3.sim.config import SimConfig
from v1d3.value.base import Discount
from v1d3.value.tabular import LocationValue


@pytest.fixture(scope="module")
def city():
    return synthetic_city(SyntheticConfig(rings=4), 8)


def _centre(city) -> int:
    return int(np.argmax((city.neighbours >= 0).sum(1) == 6))  # any interior cell


def _batch(city, cells, t=8 * 3600.0, supply=None, waiting=None):
    cells = np.asarray(cells)
    n = cells.size
    idle = np.bincount(cells, minlength=city.n_cells) if supply is None else supply
    return RepositionBatch(
        t=t, weekday=0, driver=np.arange(n), lat=city.cell_lat[cells], lng=city.cell_lng[cells],
        cell=cells, idle_s=np.full(n, 300.0), unserved_by_cell=np.zeros(city.n_cells),
        idle_by_cell=idle, waiting_by_cell=waiting, supply_by_cell=idle,
    )  # fmt: skip


def _policy(city, table, seed=0, forecast=None, **cfg):
    cfg.setdefault("k_ring", 2)  # the small city's tests reason about the 2-ring
    if forecast is not None:
        cfg.setdefault("wait", "forecast")
    v = LocationValue(city.n_cells, Discount(0.9, 600.0))
    v.table[:] = table
    p = ValueReposition(v, ValueRepositionConfig(**cfg), forecast)
    p.reset(DayContext(city, 0, 0.0, 86400.0, SimConfig(), np.random.default_rng(seed)))
    return p


def test_candidates_are_own_cell_and_k_ring(city):
    c = _centre(city)
    p = _policy(city, np.zeros(city.n_cells))
    cand, score = p.scores(_batch(city, [c]))
    assert cand[0, 0] == c  # staying comes first, always
    assert set(cand[0][cand[0] >= 0]) == set(city.disk(np.array([c]), 2)[0].tolist())
    assert (cand[0] >= 0).sum() == 19
    # a lone cell (no neighbours) can only stay
    lone = _policy(city, np.ones(city.n_cells), k_ring=0)
    np.testing.assert_array_equal(lone.reposition(_batch(city, [c, c])), [c, c])


def test_scores_discount_the_travel_time(city):
    c = _centre(city)
    p = _policy(city, np.full(city.n_cells, 10.0))
    cand, score = p.scores(_batch(city, [c]))
    assert score[0, 0] == pytest.approx(10.0)  # staying: no travel
    ok = cand[0] >= 0
    assert (score[0, ok][1:] < 10.0).all()  # every move costs some discount
    src = city.cell_x[c], city.cell_y[c]
    far = cand[0, ok][-1]
    dt = city.travel.time_s(src[0], src[1], city.cell_x[far], city.cell_y[far], -1, -1, 0.0)
    assert score[0, ok][-1] == pytest.approx(10.0 * 0.9 ** (dt / 600.0))


def test_high_value_cell_chosen_more_often(city):
    c = _centre(city)
    hot = int(city.neighbours[c, 0])
    table = np.zeros(city.n_cells)
    table[hot] = 2.0
    p = _policy(city, table, seed=1, beta=2.0)
    dest = p.reposition(_batch(city, np.full(3000, c)))
    counts = np.bincount(dest, minlength=city.n_cells)
    others = counts[np.setdiff1d(city.disk(np.array([c]), 2)[0], [hot])]
    # P(hot) ≈ e^(2·2·0.9^dt) / (e^(...) + 18) ≈ 0.7; others ≈ 0.017 each
    assert counts[hot] > 1500 and counts[hot] > 10 * others.max()
    assert counts.sum() == 3000 and set(np.flatnonzero(counts)) <= set(city.disk([c], 2)[0])


def test_beta_zero_is_uniform_and_stay_is_drawn(city):
    c = _centre(city)
    p = _policy(city, np.arange(city.n_cells, dtype=float), seed=2, beta=0.0)
    dest = p.reposition(_batch(city, np.full(1900, c)))
    counts = np.bincount(dest, minlength=city.n_cells)[city.disk([c], 2)[0]]
    assert counts.min() > 50 and counts[0] > 50  # about 100 each, staying included


def test_cap_per_destination(city):
    c = _centre(city)
    hot = int(city.neighbours[c, 0])
    table = np.zeros(city.n_cells)
    table[hot] = 50.0
    table[c] = -5.0
    p = _policy(city, table, seed=3, beta=5.0, cap=3)
    dest = p.reposition(_batch(city, np.full(40, c)))
    moved = dest[dest != c]
    assert np.bincount(moved, minlength=city.n_cells).max() <= 3
    assert (dest == hot).sum() == 3
    # without a cap they all go to the hot cell
    free = _policy(city, table, seed=3, beta=5.0)
    assert (free.reposition(_batch(city, np.full(40, c))) == hot).all()


def test_cap_never_blocks_staying(city):
    c = _centre(city)
    table = np.full(city.n_cells, -100.0)
    table[c] = 100.0
    p = _policy(city, table, seed=4, beta=5.0, cap=1)
    np.testing.assert_array_equal(p.reposition(_batch(city, np.full(10, c))), np.full(10, c))


def _flat_forecast(city, per_slot):
    """The same expected departures from every cell in every 15-minute slot."""
    n_slots = int(86400 / FORECAST_SLOT_S)
    return DepartureForecast(FORECAST_SLOT_S, np.full((n_slots, city.n_cells), float(per_slot)))


def test_expected_wait_counts_drivers_ahead_less_waiting_orders(city):
    c = _centre(city)
    n = city.neighbours[c]
    supply = np.zeros(city.n_cells, dtype=np.int64)
    supply[c], supply[n[0]] = 3, 2
    waiting = np.zeros(city.n_cells, dtype=np.int64)
    waiting[n[1]] = 4
    p = _policy(city, np.zeros(city.n_cells), forecast=_flat_forecast(city, 9.0), catchment_ring=1)
    ahead, rate = p.expected_wait(_batch(city, [c], supply=supply, waiting=waiting))
    # c's catchment is itself and its six neighbours: 3 + 2 drivers, 4 orders waiting
    assert ahead[c] == pytest.approx(1.0)
    assert rate[c] == pytest.approx(7 * 9.0 / FORECAST_SLOT_S)  # 9 per 15 min from each of 7


def _two_away(city, c):
    """Two cells two steps from ``c`` whose 1-disks are disjoint and miss ``c``'s."""
    ring2 = np.setdiff1d(city.disk([c], 2)[0], city.disk([c], 1)[0])
    for a in ring2:
        for b in ring2:
            da, db = set(city.disk([a], 1)[0]), set(city.disk([b], 1)[0])
            if not da & db and c not in da | db:
                return int(a), int(b)
    raise AssertionError("no such pair")


def test_crowded_destination_loses_by_its_wait(city):
    """Two equally valued destinations, 20 drivers ahead near b: b's wait is 20 / (7 per 15
    min), capped at 30 min, a factor 0.9^3 on its value; a's is a driver's own 2 minutes."""
    c = _centre(city)
    a, b = _two_away(city, c)
    table = np.zeros(city.n_cells)
    table[[a, b]] = 10.0
    supply = np.zeros(city.n_cells, dtype=np.int64)
    supply[c] = 1
    supply[[x for x in city.disk([b], 1)[0] if x != b][0]] = 20
    kw = {"k_ring": 2, "beta": 1.0, "catchment_ring": 1}
    p = _policy(city, table, seed=5, forecast=_flat_forecast(city, 1.0), **kw)
    dest = np.array([p.reposition(_batch(city, [c], supply=supply))[0] for _ in range(600)])
    n_a, n_b = (dest == a).sum(), (dest == b).sum()
    # P(a) / P(b) = exp(10 · (0.9^(128/600) − 0.9^3)) ≈ 12
    assert n_a > 5 * n_b and n_a > 50
    off = _policy(city, table, seed=5, wait="off", **kw)
    dest = np.array([off.reposition(_batch(city, [c], supply=supply))[0] for _ in range(600)])
    n_a, n_b = (dest == a).sum(), (dest == b).sum()
    assert n_b < 1.5 * n_a and n_a < 1.5 * n_b  # without the wait model: about even


def test_batch_drivers_queue_behind_each_other(city):
    """a is worth a little more than b: each driver alone prefers a, but the drivers of one
    batch that go to a lengthen its queue, so later ones spill over to b."""
    c = _centre(city)
    a, b = _two_away(city, c)
    table = np.full(city.n_cells, -20.0)
    table[a], table[b] = 10.0, 9.0
    cells = np.full(30, c)
    supply = np.bincount(cells, minlength=city.n_cells)
    kw = {"k_ring": 2, "beta": 3.0, "catchment_ring": 1}
    p = _policy(city, table, seed=6, forecast=_flat_forecast(city, 2.0), **kw)
    dest = p.reposition(_batch(city, cells, supply=supply))
    off = _policy(city, table, seed=6, wait="off", **kw)
    alone = off.reposition(_batch(city, cells, supply=supply))
    assert (alone == a).sum() >= 25  # e^3 ≈ 20 : 1 for a
    assert (dest == b).sum() >= 8 and (dest == a).sum() >= 8  # split by the queues


def test_a_driver_is_not_counted_twice_near_its_own_cell(city):
    """A driver alone at c: a neighbour's catchment already holds it, so moving there makes no
    longer queue than staying (one driver, a wait of 15 minutes each): the neighbours differ
    from staying only by the drive, and most draws move."""
    c = _centre(city)
    table = np.full(city.n_cells, 10.0)
    supply = np.zeros(city.n_cells, dtype=np.int64)
    supply[c] = 1
    kw = {"k_ring": 1, "beta": 3.0, "catchment_ring": 1}
    p = _policy(city, table, seed=8, forecast=_flat_forecast(city, 1 / 7), **kw)
    dest = np.array([p.reposition(_batch(city, [c], supply=supply))[0] for _ in range(600)])
    assert (dest != c).mean() > 0.4  # counted twice, a neighbour would lose ~e^3.6 : 1


def test_wait_model_resolved_by_the_forecast(city):
    table = np.zeros(city.n_cells)
    assert _policy(city, table).wait_model == "off"  # the default: the paper's rule
    assert _policy(city, table, wait="auto").wait_model == "off"  # auto without a forecast
    flat = _flat_forecast(city, 1.0)
    assert _policy(city, table, forecast=flat, wait="auto").wait_model == "forecast"
    v = LocationValue(city.n_cells, Discount(0.9, 600.0))
    assert ValueReposition(v, ValueRepositionConfig(), flat).wait_model == "off"
    assert _policy(city, table, forecast=_flat_forecast(city, 1.0), wait="off").wait_model == "off"
    with pytest.raises(ConfigError, match="wait=forecast needs historical days"):
        _policy(city, table, wait="forecast")


def test_config_errors():
    bad_cfgs = (
        {"k_ring": -1}, {"beta": -1.0}, {"cap": 0}, {"wait": "none"}, {"catchment_ring": -1},
        {"max_wait_s": 0.0}, {"max_wait_s": float("inf")}, {"forecast_days": 0},
    )  # fmt: skip
    for bad in bad_cfgs:
        with pytest.raises(ConfigError):
            ValueRepositionConfig(**bad)  # type: ignore[arg-type]


def test_wait_forecast_without_a_scenario_says_so():
    from v1d3.policies.table_values import make_value_reposition

    with pytest.raises(ConfigError, match="needs the scenario config"):
        make_value_reposition(None, None, None, wait="forecast")
