"""What the rebalancers share: zones over the cells, the transport problem, nearest drivers first.

- :class:`Zones`: the partition the rebalancers count vehicles in — the city's zones (Manhattan
  taxi zones) when it has them, else its cells. A cell whose centre lies outside every zone joins
  the zone of the nearest cell that has one.
- :func:`transport`: the integral min-cost transport problem — move ``min(Σ supply, Σ demand)``
  units from supply to demand nodes at least total cost.
- :func:`nearest_first`: which of a zone's movable drivers make its outgoing moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix, vstack

from v1d3.geo.city import City

__all__ = ["ZoneKind", "Zones", "transport", "nearest_first", "EXPAND_MAX"]

ZoneKind = Literal["city", "cells"]
"""``city``: the city's zones when it has them, else cells; ``cells``: the cells."""

EXPAND_MAX = 250_000
"""Largest unit-expanded cost matrix (rows × columns) :func:`transport` solves as an assignment;
larger problems go to the linear program."""


@dataclass(frozen=True, eq=False)
class Zones:
    """A partition of a city's cells into zones, with each zone's centre."""

    of_cell: np.ndarray
    """Zone of each cell, 0 .. n-1, shape (n_cells,)."""
    x: np.ndarray
    """Zone centre (mean of its cell centres), metres east, shape (n,)."""
    y: np.ndarray
    """Zone centre, metres north, shape (n,)."""
    travel_zone: np.ndarray
    """The city's zone index of each zone for the travel model (-1 = none), shape (n,)."""
    centre_cell: np.ndarray
    """The zone's cell nearest its centre, shape (n,)."""

    @property
    def n(self) -> int:
        return len(self.x)

    @classmethod
    def of(cls, city: City, kind: ZoneKind) -> Zones:
        """The zones of ``city``: its own zones for ``"city"`` when it has them, else its cells."""
        cz = city.cell_zone
        if kind == "cells" or cz is None or not np.any(cz >= 0):
            cells = np.arange(city.n_cells)
            travel = cz if cz is not None else np.full(city.n_cells, -1)
            return cls(cells, city.cell_x.copy(), city.cell_y.copy(), np.asarray(travel), cells)
        zoned = np.flatnonzero(cz >= 0)
        cz = np.asarray(cz, dtype=np.int64).copy()
        lost = np.flatnonzero(cz < 0)
        if lost.size:  # outside every zone: the nearest zoned cell's zone
            d = np.hypot(
                city.cell_x[lost, None] - city.cell_x[None, zoned],
                city.cell_y[lost, None] - city.cell_y[None, zoned],
            )
            cz[lost] = cz[zoned[np.argmin(d, axis=1)]]
        ids, of_cell = np.unique(cz, return_inverse=True)
        n = ids.size
        count = np.bincount(of_cell, minlength=n)
        x = np.bincount(of_cell, city.cell_x, minlength=n) / count
        y = np.bincount(of_cell, city.cell_y, minlength=n) / count
        d = np.hypot(city.cell_x - x[of_cell], city.cell_y - y[of_cell])
        order = np.lexsort((d, of_cell))  # by zone, nearest the centre first
        first = np.searchsorted(of_cell[order], np.arange(n))
        return cls(of_cell, x, y, ids, order[first])

    def count(self, per_cell: np.ndarray) -> np.ndarray:
        """Per-cell counts summed per zone, shape (n,)."""
        return np.bincount(self.of_cell, per_cell, minlength=self.n)

    def times(self, city: City, src: np.ndarray, dst: np.ndarray, t: float) -> np.ndarray:
        """Driving times between the centres of zones ``src`` and ``dst`` leaving at ``t``,
        seconds, shape (len(src), len(dst))."""
        s, d = np.meshgrid(src, dst, indexing="ij")
        tz = self.travel_zone
        out = city.travel.time_s(self.x[s], self.y[s], self.x[d], self.y[d], tz[s], tz[d], t)
        return np.asarray(out, dtype=np.float64).reshape(s.shape)


def transport(cost: np.ndarray, supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Integral flows ``x`` (shape of ``cost``) moving ``min(Σ supply, Σ demand)`` units, each
    row at most its supply, each column at most its demand, at least ``Σ cost · x``.

    Solved as an assignment of supply units to demand units (a column zone needs at most
    ``Σ supply`` of them), or, when that matrix would exceed :data:`EXPAND_MAX` entries, as a
    linear program whose vertex is integral (the constraint matrix is totally unimodular)."""
    supply = np.asarray(supply, dtype=np.int64)
    demand = np.minimum(np.asarray(demand, dtype=np.int64), supply.sum())
    supply = np.minimum(supply, demand.sum())
    flow = np.zeros(cost.shape, dtype=np.int64)
    if supply.sum() == 0 or demand.sum() == 0:
        return flow
    if supply.sum() * demand.sum() <= EXPAND_MAX:
        rows = np.repeat(np.arange(supply.size), supply)
        cols = np.repeat(np.arange(demand.size), demand)
        r, c = linear_sum_assignment(cost[np.ix_(rows, cols)])
        np.add.at(flow, (rows[r], cols[c]), 1)
        return flow
    return _transport_lp(cost, supply, demand)


def _transport_lp(cost: np.ndarray, supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    s, d = cost.shape
    n = s * d
    var = np.arange(n)
    rows = coo_matrix((np.ones(n), (var // d, var)), shape=(s, n))
    cols = coo_matrix((np.ones(n), (var % d, var)), shape=(d, n))
    total = min(int(supply.sum()), int(demand.sum()))
    res = linprog(
        cost.ravel(),
        A_ub=vstack([rows, cols]),
        b_ub=np.r_[supply, demand],
        A_eq=np.ones((1, n)),
        b_eq=[total],
        bounds=(0, None),
        method="highs-ds",
    )
    if res.status != 0:  # supply and demand are capped to each other's total: always feasible
        raise RuntimeError(f"transport problem: {res.message}")
    return np.rint(res.x).astype(np.int64).reshape(s, d)  # type: ignore[no-any-return]


def nearest_first(
    x: np.ndarray, y: np.ndarray, dest_x: np.ndarray, dest_y: np.ndarray
) -> np.ndarray:
    """Which driver (index into ``x``, ``y``) takes each destination: the assignment of least
    total straight-line distance, so one destination gets the driver nearest it and ``k``
    moves to one destination the ``k`` nearest drivers. Needs ``len(dest) <= len(x)``."""
    dist = np.hypot(x[:, None] - dest_x[None, :], y[:, None] - dest_y[None, :])
    r, c = linear_sum_assignment(dist)
    out = np.empty(dest_x.size, dtype=np.int64)
    out[c] = r
    return out
