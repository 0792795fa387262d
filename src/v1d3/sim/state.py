"""The simulator's state: drivers and orders as columns, one numpy array per attribute.

Indexing is by driver id and by order id throughout; a round updates the rows that changed with
a few vectorised assignments. There is no object per driver or per order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from v1d3.demand.orders import Orders
from v1d3.geo.city import City
from v1d3.sim.fleet import Fleet

__all__ = [
    "OFFLINE",
    "IDLE",
    "BUSY",
    "CRUISE",
    "DONE",
    "OPEN",
    "COMPLETED",
    "CANCELLED",
    "EXPIRED",
    "Cruises",
    "DriverState",
    "OrderState",
    "ShiftSchedule",
    "RoundStats",
    "point_in_cell",
]

# driver status
OFFLINE, IDLE, BUSY, CRUISE, DONE = 0, 1, 2, 3, 4
# order status (see v1d3.sim.log.ORDER_STATUS)
OPEN, COMPLETED, CANCELLED, EXPIRED = 0, 1, 2, 3


def _zeros(n: int, dtype: type = np.float64) -> np.ndarray:
    return np.zeros(n, dtype=dtype)


@dataclass(eq=False)
class Cruises:
    """Repositioning trips under way, one row per driver (meaningful while ``CRUISE``)."""

    t0: np.ndarray
    """Departure, seconds after midnight (NaN when none)."""
    t1: np.ndarray
    """Arrival, seconds after midnight (inf when none)."""
    x0: np.ndarray
    """Departure point, metres east in the city's projection."""
    y0: np.ndarray
    """Departure point, metres north."""
    x1: np.ndarray
    """Destination point, metres east."""
    y1: np.ndarray
    """Destination point, metres north."""
    cell1: np.ndarray
    """Destination cell."""
    lat0: np.ndarray
    """Departure latitude, degrees."""
    lng0: np.ndarray
    """Departure longitude, degrees."""
    cell0: np.ndarray
    """Departure cell."""

    @classmethod
    def none(cls, n: int) -> Cruises:
        return cls(
            t0=np.full(n, np.nan),
            t1=np.full(n, np.inf),
            x0=_zeros(n),
            y0=_zeros(n),
            x1=_zeros(n),
            y1=_zeros(n),
            cell1=_zeros(n, np.int32),
            lat0=_zeros(n),
            lng0=_zeros(n),
            cell0=_zeros(n, np.int32),
        )


@dataclass(eq=False)
class DriverState:
    """Where each driver is and what it does."""

    x: np.ndarray
    """Position, metres east in the city's projection."""
    y: np.ndarray
    """Position, metres north."""
    lat: np.ndarray
    """Position, degrees."""
    lng: np.ndarray
    """Position, degrees."""
    cell: np.ndarray
    """The cell of the position (for a driver on a trip: of its drop-off)."""
    status: np.ndarray
    """``OFFLINE``, ``IDLE``, ``BUSY``, ``CRUISE`` or ``DONE`` (int8)."""
    avail: np.ndarray
    """May be matched this round: idle or repositioning (bool)."""
    free_at: np.ndarray
    """Drop-off time of the current trip, seconds after midnight (inf when none)."""
    idle_since: np.ndarray
    """Start of the current idle spell, seconds after midnight."""
    leaving: np.ndarray
    """The shift ended during a trip: go offline at the drop-off (bool)."""
    cruise: Cruises
    """Repositioning trips under way."""

    @classmethod
    def start(cls, city: City, fleet: Fleet) -> DriverState:
        """Every driver offline at its shift's start point."""
        n = len(fleet)
        fx, fy = city.proj.to_xy(fleet.lat, fleet.lng)
        return cls(
            x=np.asarray(fx, dtype=np.float64).copy(),
            y=np.asarray(fy, dtype=np.float64).copy(),
            lat=fleet.lat.astype(np.float64).copy(),
            lng=fleet.lng.astype(np.float64).copy(),
            cell=city.cell_of(fleet.lat, fleet.lng),
            status=np.zeros(n, dtype=np.int8),
            avail=np.zeros(n, dtype=bool),
            free_at=np.full(n, np.inf),
            idle_since=np.full(n, np.nan),
            leaving=np.zeros(n, dtype=bool),
            cruise=Cruises.none(n),
        )

    def place(
        self, city: City, ids: np.ndarray, x: np.ndarray, y: np.ndarray, cells: np.ndarray
    ) -> None:
        """Move drivers to points ``(x, y)`` in ``cells``."""
        self.x[ids] = x
        self.y[ids] = y
        lat, lng = city.proj.to_latlng(x, y)
        self.lat[ids] = lat
        self.lng[ids] = lng
        self.cell[ids] = cells

    def advance_cruise(self, city: City, t: float) -> np.ndarray:
        """Move repositioning drivers along their way to where they are at ``t``; their ids."""
        ids = np.flatnonzero(self.status == CRUISE)
        if ids.size == 0:
            return ids
        c = self.cruise
        frac = np.clip((t - c.t0[ids]) / np.maximum(c.t1[ids] - c.t0[ids], 1e-9), 0, 1)
        x = c.x0[ids] + frac * (c.x1[ids] - c.x0[ids])
        y = c.y0[ids] + frac * (c.y1[ids] - c.y0[ids])
        self.place(city, ids, x, y, city.cell_of_xy(x, y))
        return ids

    def depart(
        self,
        go: np.ndarray,
        t: float,
        x1: np.ndarray,
        y1: np.ndarray,
        dst: np.ndarray,
        dur: np.ndarray,
    ) -> None:
        """Start repositioning trips of drivers ``go`` to ``(x1, y1)`` in cells ``dst``."""
        c = self.cruise
        c.t0[go] = t
        c.t1[go] = t + np.maximum(dur, 1.0)
        c.x0[go] = self.x[go]
        c.y0[go] = self.y[go]
        c.x1[go] = x1
        c.y1[go] = y1
        c.cell1[go] = dst
        c.lat0[go] = self.lat[go]
        c.lng0[go] = self.lng[go]
        c.cell0[go] = self.cell[go]
        self.status[go] = CRUISE


@dataclass(eq=False)
class OrderState:
    """The day's orders: projected positions, the waiting queue and the outcome columns."""

    x: np.ndarray
    """Origin, metres east in the city's projection."""
    y: np.ndarray
    """Origin, metres north."""
    dest_x: np.ndarray
    """Destination, metres east."""
    dest_y: np.ndarray
    """Destination, metres north."""
    status: np.ndarray
    """``OPEN``, ``COMPLETED``, ``CANCELLED`` or ``EXPIRED`` (int8)."""
    driver: np.ndarray
    """Assigned driver, -1 when none."""
    t_assign: np.ndarray
    """Assignment time, seconds after midnight (NaN when none)."""
    pickup_m: np.ndarray
    """Straight-line pickup distance of the assignment, metres."""
    pickup_s: np.ndarray
    """Driving time to the origin, seconds."""
    t_end: np.ndarray
    """Drop-off, cancellation or expiry time, seconds after midnight."""
    waiting: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Ids of the orders arrived and still open, in arrival order."""
    arrived: int = 0
    """How many orders have arrived (orders are sorted by request time)."""

    @classmethod
    def start(cls, city: City, orders: Orders) -> OrderState:
        """No order arrived yet."""
        n = len(orders)
        ox, oy = city.proj.to_xy(orders.o_lat, orders.o_lng)
        dx, dy = city.proj.to_xy(orders.d_lat, orders.d_lng)
        return cls(
            x=ox,
            y=oy,
            dest_x=dx,
            dest_y=dy,
            status=np.zeros(n, dtype=np.int8),
            driver=np.full(n, -1, dtype=np.int32),
            t_assign=np.full(n, np.nan),
            pickup_m=np.full(n, np.nan),
            pickup_s=np.full(n, np.nan),
            t_end=np.full(n, np.nan),
        )

    def arrive(self, hi: int) -> None:
        """Orders up to ``hi`` (exclusive) join the queue."""
        if hi > self.arrived:
            self.waiting = np.concatenate((self.waiting, np.arange(self.arrived, hi)))
            self.arrived = hi


@dataclass(eq=False)
class ShiftSchedule:
    """Shift starts and ends in time order, with how many of each have passed."""

    on_order: np.ndarray
    """Driver ids by shift start (drivers without a shift left out)."""
    t_on: np.ndarray
    """Their shift starts, sorted, seconds after midnight."""
    off_order: np.ndarray
    """Driver ids by shift end."""
    t_off: np.ndarray
    """Their shift ends, sorted, seconds after midnight."""
    on_ptr: int = 0
    off_ptr: int = 0

    @classmethod
    def of(cls, fleet: Fleet) -> ShiftSchedule:
        valid = fleet.t_off > fleet.t_on
        on_order = np.argsort(fleet.t_on, kind="stable")
        on_order = on_order[valid[on_order]]
        off_order = np.argsort(fleet.t_off, kind="stable")
        off_order = off_order[valid[off_order]]
        return cls(on_order, fleet.t_on[on_order], off_order, fleet.t_off[off_order])

    def starting(self, t: float) -> np.ndarray | None:
        """Drivers whose shift starts by ``t`` and had not yet; None when none."""
        k = int(np.searchsorted(self.t_on, t, side="right"))
        if k <= self.on_ptr:
            return None
        ids = self.on_order[self.on_ptr : k]
        self.on_ptr = k
        return ids

    def ending(self, t: float) -> np.ndarray | None:
        """Drivers whose shift ends by ``t`` and had not yet; None when none."""
        k = int(np.searchsorted(self.t_off, t, side="right"))
        if k <= self.off_ptr:
            return None
        ids = self.off_order[self.off_ptr : k]
        self.off_ptr = k
        return ids


@dataclass(eq=False)
class RoundStats:
    """One row per dispatched round (the run log's ``rounds`` table), grown as lists."""

    t: list[float] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    drivers: list[int] = field(default_factory=list)
    pairs: list[int] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)

    def add(self, t: float, orders: int, drivers: int, pairs: int, matched: int, ms: float) -> None:
        self.t.append(t)
        self.orders.append(orders)
        self.drivers.append(drivers)
        self.pairs.append(pairs)
        self.matched.append(matched)
        self.ms.append(ms)

    def columns(self) -> dict[str, np.ndarray]:
        return {
            "t_s": np.asarray(self.t, dtype=np.float64),
            "orders": np.asarray(self.orders, dtype=np.int32),
            "drivers": np.asarray(self.drivers, dtype=np.int32),
            "pairs": np.asarray(self.pairs, dtype=np.int32),
            "matched": np.asarray(self.matched, dtype=np.int32),
            "ms": np.asarray(self.ms, dtype=np.float64),
        }


def point_in_cell(city: City, cells: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point near the centre of each cell (uniform in a disk of half the edge length); ``u``
    holds two uniforms per cell."""
    rad = 0.5 * city.edge_m * np.sqrt(u[:, 0])
    ang = 2 * np.pi * u[:, 1]
    return city.cell_x[cells] + rad * np.cos(ang), city.cell_y[cells] + rad * np.sin(ang)
