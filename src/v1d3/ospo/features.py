"""What the pair scorer sees of one candidate (driver, order) pair: :data:`FEATURES`, as columns.

Everything comes from the round's :class:`~v1d3.rounds.CandidateBatch`:

- the pair: pickup distance and time, fare, trip time and distance, fare per hour of the
  driver's time, how long the order has waited;
- where: the driver's, the origin's and the destination's cell centres (km from the city's
  centre, so a model is tied to its city: its file names the city's digest);
- when: time of day (24 h and 12 h harmonics), weekend or not;
- the round's supply and demand around the pair: how many orders the driver could take, how
  many drivers could take the order, the round's waiting orders and free drivers, and the
  round's free drivers and waiting orders at the destination's cell.

A departure forecast at the destination was measured as a column too and left out: drawing the
historical days it averages costs each process about as long as a simulated day, per weekday.

Counts enter as ``log1p``, the rest in their own units (metres, seconds, currency units); the
scorer standardises every feature with statistics saved in its model file (:mod:`v1d3.ospo.net`),
so units do not matter to it. A model records :data:`FEATURES`; a model made with another
list is refused on loading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v1d3.dispatch.matching import compact_ids
from v1d3.geo.city import City
from v1d3.rounds import CandidateBatch
from v1d3.sim.config import DAY_S

__all__ = ["FEATURES", "PairFeatures", "segments"]

FEATURES = (
    "pickup_m",
    "pickup_s",
    "fare",
    "trip_s",
    "trip_m",
    "fare_per_h",
    "wait_s",
    "driver_x_km",
    "driver_y_km",
    "origin_x_km",
    "origin_y_km",
    "dest_x_km",
    "dest_y_km",
    "day_sin",
    "day_cos",
    "half_day_sin",
    "half_day_cos",
    "weekend",
    "driver_orders_log",
    "order_drivers_log",
    "round_orders_log",
    "round_drivers_log",
    "dest_drivers_log",
    "dest_orders_log",
)
"""The feature columns, in order (a model file records them)."""


def segments(ids: np.ndarray) -> tuple[int, np.ndarray]:
    """Number of distinct ``ids`` and each entry's index among them (sorted distinct values)."""
    if ids.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    return compact_ids(ids)


@dataclass(eq=False)
class PairFeatures:
    """Builds the :data:`FEATURES` of a round's pairs for one city and day, as rows."""

    city: City
    weekday: int

    def __post_init__(self) -> None:
        cx, cy = self.city.cell_x, self.city.cell_y
        self._xy = np.stack([cx - cx.mean(), cy - cy.mean()]).astype(np.float32) / 1000.0
        self._weekend = 1.0 if self.weekday >= 5 else 0.0

    def __call__(
        self,
        batch: CandidateBatch,
        drivers: tuple[int, np.ndarray],
        orders: tuple[int, np.ndarray],
    ) -> np.ndarray:
        """The (features, pairs) float32 matrix — one row per feature, so that each is written
        in one contiguous run; ``drivers``, ``orders``: :func:`segments` of the batch's drivers
        and orders (the caller's matching needs them too)."""
        (n_drv, drv), (n_ord, ordr) = drivers, orders
        n = len(batch)
        out = np.empty((len(FEATURES), n), dtype=np.float32)
        pickup_s, trip_s, fare = batch.pickup_s, batch.trip_s, batch.fare
        out[0] = batch.pickup_m
        out[1] = pickup_s
        out[2] = fare
        out[3] = trip_s
        out[4] = batch.trip_m
        out[5] = fare / np.maximum(pickup_s + trip_s, 60.0)
        out[5] *= 3600.0
        out[6] = batch.t - batch.t_request
        cells = np.concatenate((batch.driver_cell, batch.origin_cell, batch.dest_cell))
        out[7:13] = self._xy[:, cells].reshape(2, 3, n).transpose(1, 0, 2).reshape(6, n)
        phase = 2.0 * math.pi * (batch.t % DAY_S) / DAY_S
        out[13:18] = np.array(
            [math.sin(phase), math.cos(phase), math.sin(2 * phase), math.cos(2 * phase),
             self._weekend],
            dtype=np.float32,
        )[:, None]  # fmt: skip
        out[18] = np.log1p(np.bincount(drv, minlength=n_drv).astype(np.float32))[drv]
        out[19] = np.log1p(np.bincount(ordr, minlength=n_ord).astype(np.float32))[ordr]
        out[20:22] = np.log1p(np.array([n_ord, n_drv], dtype=np.float32))[:, None]
        # the round's free drivers and waiting orders in each destination's cell
        first_drv = np.empty(n_drv, dtype=np.int64)
        first_drv[drv] = np.arange(n)
        first_ord = np.empty(n_ord, dtype=np.int64)
        first_ord[ordr] = np.arange(n)
        n_cells = self.city.n_cells
        e_cell = batch.dest_cell
        free = np.bincount(batch.driver_cell[first_drv], minlength=n_cells).astype(np.float32)
        waiting = np.bincount(batch.origin_cell[first_ord], minlength=n_cells).astype(np.float32)
        out[22] = free[e_cell]
        out[23] = waiting[e_cell]
        np.log1p(out[22:24], out=out[22:24])
        return out
