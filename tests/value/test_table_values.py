"""Table value functions on numbers: tabular (cell, bucket), location-only, tile coding."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import ConfigError, ModelError
from v1d3.value.base import Discount
from v1d3.value.tabular import LocationValue, TabularValue
from v1d3.value.tile import DEFAULT_TILE_OFFSETS, TileCodedValue


@pytest.fixture(scope="module")
def city():
    return synthetic_city(SyntheticConfig(rings=2), 8)


def test_tabular_lookup_buckets_and_end_of_day():
    v = TabularValue(n_cells=3, bucket_s=600.0, end_s=1800.0)
    assert v.values.shape == (1, 3, 3)
    v.values[0] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    cell = np.array([0, 1, 2, 2, 0, 1])
    t = np.array([0.0, 599.9, 600.0, 1799.0, 1800.0, 5000.0])
    np.testing.assert_allclose(v.value(cell, 0.0, 0.0, t), [1, 2, 6, 9, 0, 0])
    # broadcasting: one time for many cells
    np.testing.assert_allclose(v.value(np.arange(3), 0.0, 0.0, 650.0), [4, 5, 6])


def test_tabular_per_weekday_tables(city):
    v = TabularValue(city.n_cells, bucket_s=3600.0, per_weekday=True)
    assert v.values.shape == (7, 24, city.n_cells)
    v.values[2, 5, 4] = 7.0
    v.values[3, 5, 4] = -1.0
    v.bind(city, 2)
    assert v.value(4, 0.0, 0.0, 5.5 * 3600) == pytest.approx(7.0)
    v.bind(city, 3)
    assert v.value(4, 0.0, 0.0, 5.5 * 3600) == pytest.approx(-1.0)


def test_add_moves_the_value_by_delta_and_sums_shared_steps():
    v = TabularValue(n_cells=2, bucket_s=600.0, end_s=1200.0)
    v.add(np.array([0, 0, 1]), 0.0, 0.0, np.array([10.0, 20.0, 700.0]), np.array([1.0, 0.5, 2.0]))
    np.testing.assert_allclose(v.values[0], [[1.5, 0.0], [0.0, 2.0]])
    v.add(np.array([1]), 0.0, 0.0, np.array([1300.0]), np.array([5.0]))  # past the end: no-op
    np.testing.assert_allclose(v.table, [1.5, 0.0, 0.0, 2.0])
    v.fill(0.0)
    assert not v.table.any()


def test_bind_refuses_another_city(city):
    with pytest.raises(ModelError, match="cells"):
        TabularValue(city.n_cells + 1).bind(city, 0)
    with pytest.raises(ModelError, match="other cells"):
        TabularValue(city.n_cells, cells_digest="0" * 16).bind(city, 0)
    with pytest.raises(ModelError, match="cells"):
        LocationValue(3).bind(city, 0)
    with pytest.raises(ConfigError):
        TabularValue(0)


def test_location_value_ignores_time_until_the_end():
    v = LocationValue(3, Discount(0.9, 600.0), end_s=1000.0)
    v.table[:] = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(v.value(np.array([2, 2, 0]), 0, 0, [0.0, 999.0, 1000.0]), [3, 3, 0])
    assert not v.time_dependent and TabularValue(1).time_dependent


def test_tile_coding_average_and_update_on_numbers(city):
    v = TileCodedValue()
    assert v.n_active == 6
    assert len(set(DEFAULT_TILE_OFFSETS)) == 5
    v.bind(city, 0)
    lat, lng = float(city.cell_lat[0]), float(city.cell_lng[0])
    idx, w = v.active(np.array([0]), np.array([lat]), np.array([lng]), np.zeros(1))
    assert idx.shape == (1, 6) and np.unique(idx).size == 6
    np.testing.assert_allclose(w, 1 / 6)
    # value = mean of the six entries
    v.table[idx[0]] = [6.0, 0.0, 1.0, 2.0, 3.0, 0.0]
    assert v.value(0, lat, lng, 0.0) == pytest.approx(2.0)
    # a TD step of 0.6 moves every active entry by 0.6, so V moves by 0.6
    v.update(np.array([0]), np.array([lat]), np.array([lng]), np.array([0.6]))
    assert v.value(0, lat, lng, 0.0) == pytest.approx(2.6)
    np.testing.assert_allclose(v.table[idx[0]], [6.6, 0.6, 1.6, 2.6, 3.6, 0.6])


def test_tile_coding_generalises_to_near_points_only(city):
    v = TileCodedValue()
    v.bind(city, 0)
    lat, lng = float(city.cell_lat[0]), float(city.cell_lng[0])
    v.update(np.array([0]), np.array([lat]), np.array([lng]), np.array([6.0]))
    # 0.001° away, other cell index: shares most tiles, not the cell entry
    near = float(v.value(1, lat + 0.001, lng + 0.001, 0.0))
    far = float(v.value(1, lat + 0.05, lng + 0.05, 0.0))
    assert 0.0 < near <= 5.0 and near == pytest.approx(round(near))  # whole shared tiles
    assert far == 0.0
    # two drivers on the same point: steps add up
    v.fill(0.0)
    v.update(np.array([0, 0]), np.array([lat, lat]), np.array([lng, lng]), np.array([1.0, 2.0]))
    assert v.value(0, lat, lng, 0.0) == pytest.approx(3.0)


def test_tile_coding_needs_bind_and_keeps_values_on_rebind(city):
    v = TileCodedValue()
    with pytest.raises(ConfigError, match="bind"):
        v.value(0, 45.0, 7.0, 0.0)
    v.bind(city, 0)
    v.table[:] = 1.0
    v.bind(city, 1)
    assert (v.table == 1.0).all()
    with pytest.raises(ConfigError):
        TileCodedValue(tile_deg=0.0)
