"""Value repositioning: stay is always a candidate, richer cells chosen more often, caps hold."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
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


def _batch(city, cells, t=8 * 3600.0):
    cells = np.asarray(cells)
    n = cells.size
    return RepositionBatch(
        t=t, weekday=0, driver=np.arange(n), lat=city.cell_lat[cells], lng=city.cell_lng[cells],
        cell=cells, idle_s=np.full(n, 300.0), unserved_by_cell=np.zeros(city.n_cells),
        idle_by_cell=np.zeros(city.n_cells),
    )  # fmt: skip


def _policy(city, table, seed=0, **cfg):
    cfg.setdefault("k_ring", 2)  # the small city's tests reason about the 2-ring
    v = LocationValue(city.n_cells, Discount(0.9, 600.0))
    v.table[:] = table
    p = ValueReposition(v, ValueRepositionConfig(**cfg))
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


def test_config_errors():
    for bad in ({"k_ring": -1}, {"beta": -1.0}, {"cap": 0}):
        with pytest.raises(ConfigError):
            ValueRepositionConfig(**bad)  # type: ignore[arg-type]
