"""Small value functions and cities that the value and learner tests share."""

from __future__ import annotations

import h3
import numpy as np

from v1d3.geo.city import City, h3_city
from v1d3.value.base import Discount, ValueFunction

GAMMA = 0.9
"""Discount per 600 s of the test values."""


class CellValue(ValueFunction):
    """V_off(cell, t) = base[cell] at every time of day, 0 from midnight on."""

    def __init__(self, base: list[float]) -> None:
        self.base = np.asarray(base, dtype=np.float64)
        self.discount = Discount(GAMMA, 600.0)

    def value(self, cell, lat, lng, t_s):  # type: ignore[no-untyped-def]
        c, t = np.broadcast_arrays(np.asarray(cell), np.asarray(t_s, dtype=np.float64))
        return np.where(t >= 86_400.0, 0.0, self.base[c])


def three_cell_city() -> City:
    """An H3 cell at resolution 8 and two of its neighbours."""
    c = h3.latlng_to_cell(45.0, 7.0, 8)
    return h3_city("three", [c, *sorted(h3.grid_ring(c, 1))[:2]])
