"""Driver transitions ``(s, R, s')`` extracted from an event log, as columns.

Every offline learner in :mod:`v1d3.learn` trains on :class:`Transitions`. They are built from the
event (trajectory) table of :mod:`v1d3.sim.log` by :func:`transitions_from_events`:

- ``trip``: from the driver's position at assignment to the drop-off, reward = fare;
- ``idle_move`` / ``reposition``: from start to end position, reward 0;
- idle waiting (the gap between two consecutive events of one driver, outside ``shift_end`` →
  ``shift_start``): reward 0, cut into pieces of ``idle_step_s`` seconds that stay in the cell
  where the driver waits, except the last piece, which ends where the next event starts;
- ``cancel``, ``shift_start``, ``shift_end``: no transition of their own (a cancellation leaves
  the driver waiting where it was).

A transition is ``terminal`` when it ends at or after the end of the day (``end_s``): its next
state is worth 0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from v1d3.errors import DataError
from v1d3.geo.city import City
from v1d3.sim.log import CANCEL, EVENT_COLUMNS, IDLE_MOVE, REPOSITION, SHIFT_END, SHIFT_START, TRIP

__all__ = ["Transitions", "transitions_from_events", "concat"]

_EPS_S = 1e-6

_DTYPES: dict[str, Any] = {
    "cell0": np.int32,
    "lat0": np.float64,
    "lng0": np.float64,
    "t0_s": np.float64,
    "reward": np.float64,
    "cell1": np.int32,
    "lat1": np.float64,
    "lng1": np.float64,
    "t1_s": np.float64,
    "weekday": np.int8,
    "terminal": np.bool_,
}


@dataclass(frozen=True, eq=False)
class Transitions:
    """Equal-length columns, one row per driver transition ``(s0, reward, s1)``."""

    cell0: np.ndarray
    """Dense cell index of the start state (int32)."""
    lat0: np.ndarray
    """Start latitude, degrees."""
    lng0: np.ndarray
    """Start longitude, degrees."""
    t0_s: np.ndarray
    """Start time, seconds after midnight."""
    reward: np.ndarray
    """Reward earned over the transition (fare, currency units; 0 when idle or moving)."""
    cell1: np.ndarray
    """Dense cell index of the next state (int32)."""
    lat1: np.ndarray
    """Next-state latitude, degrees."""
    lng1: np.ndarray
    """Next-state longitude, degrees."""
    t1_s: np.ndarray
    """Next-state time, seconds after midnight (may exceed 24 h)."""
    weekday: np.ndarray
    """Day of week of the transition, Monday = 0 (int8)."""
    terminal: np.ndarray
    """Whether the next state lies at or after the end of the day (its value is 0)."""

    def __post_init__(self) -> None:
        n = len(self.cell0)
        for f in fields(self):
            v = np.asarray(getattr(self, f.name), dtype=_DTYPES[f.name])
            if v.shape != (n,):
                raise DataError(f"transitions: column {f.name} has shape {v.shape}, not ({n},)")
            object.__setattr__(self, f.name, v)

    def __len__(self) -> int:
        return len(self.cell0)

    @property
    def duration_s(self) -> np.ndarray:
        """``t1_s − t0_s``, seconds."""
        return self.t1_s - self.t0_s

    def take(self, idx: np.ndarray) -> Transitions:
        """The rows at ``idx`` (an index array or a boolean mask)."""
        return Transitions(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def empty(cls) -> Transitions:
        """No transitions."""
        return cls(**{name: np.zeros(0, dtype=dt) for name, dt in _DTYPES.items()})


def concat(parts: list[Transitions]) -> Transitions:
    """All rows of ``parts``, in order."""
    if not parts:
        return Transitions.empty()
    return Transitions(
        **{name: np.concatenate([getattr(p, name) for p in parts]) for name in _DTYPES}
    )


def transitions_from_events(
    events: dict[str, np.ndarray],
    city: City,
    weekday: int,
    end_s: float,
    idle_step_s: float = 600.0,
    source: str = "event table",
) -> Transitions:
    """Transitions of one day's event table (the schema of :data:`v1d3.sim.log.EVENT_COLUMNS`).

    ``end_s`` is the end of the day (seconds after midnight); ``idle_step_s`` the longest idle
    transition, seconds. Cells given as -1 are recomputed from the coordinates. ``source``
    (e.g. the file the events came from) begins every error message.
    """
    if idle_step_s <= 0:
        raise DataError(f"idle_step_s must be > 0 seconds, got {idle_step_s}")
    missing = [c for c in EVENT_COLUMNS if c not in events]
    if missing:
        raise DataError(f"{source}: lacks column(s) {', '.join(missing)}")
    for c in ("t_start_s", "t_end_s", "reward"):
        bad = np.flatnonzero(~np.isfinite(np.asarray(events[c], dtype=np.float64)))
        if bad.size:
            # a driver's events chain into transitions: a hole would join two unrelated ones
            raise DataError(
                f"{source}: {bad.size} event(s) with a non-finite {c} (first at row "
                f"{bad[0]}); a trajectory log needs every time and reward"
            )
    kind = np.asarray(events["kind"], dtype=np.int8)
    keep = np.flatnonzero(kind != CANCEL)
    drv = np.asarray(events["driver_id"], dtype=np.int64)[keep]
    ts = np.asarray(events["t_start_s"], dtype=np.float64)[keep]
    # a driver's events in time order; ties keep the table's order
    order = keep[np.lexsort((keep, ts, drv))]
    ev = {c: np.asarray(events[c])[order] for c in EVENT_COLUMNS}
    kind = ev["kind"].astype(np.int8)
    drv = ev["driver_id"].astype(np.int64)
    t_a, t_b = ev["t_start_s"].astype(np.float64), ev["t_end_s"].astype(np.float64)
    lat_a, lng_a = ev["start_lat"].astype(np.float64), ev["start_lng"].astype(np.float64)
    lat_b, lng_b = ev["end_lat"].astype(np.float64), ev["end_lng"].astype(np.float64)
    cell_a = _cells(ev["start_cell"], lat_a, lng_a, city, source)
    cell_b = _cells(ev["end_cell"], lat_b, lng_b, city, source)

    # moves: trips, idle moves, repositioning
    mv = np.flatnonzero((kind == TRIP) | (kind == IDLE_MOVE) | (kind == REPOSITION))
    reward = np.where(kind[mv] == TRIP, ev["reward"][mv].astype(np.float64), 0.0)
    moves = (
        cell_a[mv],
        lat_a[mv],
        lng_a[mv],
        t_a[mv],
        reward,
        cell_b[mv],
        lat_b[mv],
        lng_b[mv],
        t_b[mv],
    )

    # idle gaps between consecutive events of one driver, while on shift
    i = np.arange(len(kind) - 1)
    gap = t_a[i + 1] - t_b[i]
    ok = (drv[i] == drv[i + 1]) & (kind[i] != SHIFT_END) & (kind[i + 1] != SHIFT_START)
    ok &= gap > _EPS_S
    i = i[ok]
    gap = gap[ok]
    n_piece = np.ceil(gap / idle_step_s - 1e-9).astype(np.int64)
    n_piece = np.maximum(n_piece, 1)
    src = np.repeat(i, n_piece)
    first = np.cumsum(n_piece) - n_piece
    j = np.arange(src.size) - np.repeat(first, n_piece)  # piece number within its gap
    last = j == np.repeat(n_piece, n_piece) - 1
    p_t0 = t_b[src] + j * idle_step_s
    p_t1 = np.where(last, t_a[src + 1], p_t0 + idle_step_s)
    idle = (
        cell_b[src],
        lat_b[src],
        lng_b[src],
        p_t0,
        np.zeros(src.size),
        np.where(last, cell_a[src + 1], cell_b[src]),
        np.where(last, lat_a[src + 1], lat_b[src]),
        np.where(last, lng_a[src + 1], lng_b[src]),
        p_t1,
    )

    cols = [np.concatenate((m, d)) for m, d in zip(moves, idle, strict=True)]
    t1 = cols[8]
    return Transitions(
        cell0=cols[0],
        lat0=cols[1],
        lng0=cols[2],
        t0_s=cols[3],
        reward=cols[4],
        cell1=cols[5],
        lat1=cols[6],
        lng1=cols[7],
        t1_s=t1,
        weekday=np.full(t1.size, weekday, dtype=np.int8),
        terminal=t1 >= end_s - _EPS_S,
    )


CELL_CHECK = 10_000
"""Events whose given cell is compared with the cell of their coordinates."""


def _cells(
    cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, city: City, source: str
) -> np.ndarray:
    """The given cells, recomputed from coordinates where they are -1 (or out of range).

    Given cells are checked against their coordinates on a sample of up to ``CELL_CHECK``
    events: cells of another city or H3 resolution are a DataError, not silently learned.
    """
    cell = np.asarray(cell, dtype=np.int32).copy()
    given = np.flatnonzero(
        (cell >= 0) & (cell < city.n_cells) & np.isfinite(lat) & np.isfinite(lng)
    )
    if given.size:
        sample = given[:: max(1, given.size // CELL_CHECK)]
        off = np.mean(city.cell_of(lat[sample], lng[sample]) != cell[sample])
        if off > 0.01:
            raise DataError(
                f"{source}: {off:.0%} of the events' cells disagree with their coordinates in "
                f"the {city.name} city ({city.n_cells} cells): events of another city or H3 "
                "resolution? Give the scenario options they were logged with"
            )
    bad = (cell < 0) | (cell >= city.n_cells)
    if bad.any():
        if not (np.isfinite(lat[bad]).all() and np.isfinite(lng[bad]).all()):
            raise DataError(f"{source}: an event has neither a cell nor coordinates")
        cell[bad] = city.cell_of(lat[bad], lng[bad])
    return cell
