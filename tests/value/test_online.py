"""Values that change during a day: the residual table over an offline function, and its levels."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.errors import ConfigError
from v1d3.value.online import ResidualValue
from value_fixtures import CellValue, three_cell_city


@pytest.fixture(scope="module")
def city():
    return three_cell_city()


def test_residual_starts_at_the_offline_values(city):
    off = CellValue([10.0, 20.0, 30.0])
    on = ResidualValue(off, bucket_s=3600.0)
    on.bind(city, 2)
    assert on.residual.shape == (24, 3) and (on.table == 0).all()
    cell = np.array([0, 1, 2])
    assert np.allclose(on.value(cell, 0, 0, np.full(3, 5_000.0)), [10, 20, 30])
    assert (on.value(cell, 0, 0, np.full(3, 86_400.0)) == 0).all()


def test_levels_not_coarser_than_the_city_are_skipped(city):
    fine = ResidualValue(CellValue([1.0, 2.0, 3.0]), parents=(9, 8))
    fine.bind(city, 2)
    assert fine.table.size == 3 + 1  # the cells' own entries and the always-zero one
    with pytest.raises(ConfigError, match="0..15"):
        ResidualValue(CellValue([1.0, 2.0, 3.0]), parents=(16,)).bind(city, 2)


def test_blend_scales_the_residual_only(city):
    on = ResidualValue(CellValue([10.0, 20.0, 30.0]), bucket_s=None)
    on.bind(city, 2)
    on.add(np.array([0, 1]), np.array([0.0, 0.0]), np.array([4.0, -2.0]))
    on.blend(0.25)  # V_on <- 0.25 V_on + 0.75 V_off, i.e. Delta <- 0.25 Delta
    assert np.allclose(on.value(np.array([0, 1, 2]), 0, 0, np.zeros(3)), [11.0, 19.5, 30.0])
