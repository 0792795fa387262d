"""One day of orders as columns (numpy arrays), sorted by request time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from v1d3.errors import DataError

__all__ = [
    "Orders",
    "KDD_CANCEL_DISTANCES_M",
    "KDD_CANCEL_CURVE",
    "MIN_TRIP_S",
    "MAX_TRIP_S",
    "MAX_FARE",
    "cancel_probability",
]

KDD_CANCEL_DISTANCES_M = np.arange(200.0, 2001.0, 200.0)
"""Pickup distances (m) at which cancellation probabilities are given (KDD Cup 2020)."""
KDD_CANCEL_CURVE = (0.035, 0.039, 0.042, 0.050, 0.059, 0.075, 0.086, 0.099, 0.112, 0.127)
"""Mean cancellation probability at 200, 400, ... 2000 m over the Chengdu data (KDD Cup 2020)."""
MIN_TRIP_S = 60.0
"""Shortest trip a drawn order may have (a drawn day's or one a shock adds), seconds."""
MAX_TRIP_S = 4 * 3600.0
"""Longest trip a source row may have, seconds: real records beyond it are almost always meters
left running (TLC) or bad timestamps, and one of them would size the fleet (KDD) or keep a
driver busy for days. Longer rows are dropped and counted (``too_long``)."""
MAX_FARE = 10_000.0
"""Highest fare a source row may have, in the city's currency (dollars, yuan): far above any
taxi trip of at most :data:`MAX_TRIP_S` in either city (the shipped TLC month's highest is
$600), so a row above it is a meter or data error, which would swamp a day's income (a KDD
reward of ``1e308`` made the income infinite and ``metrics.json`` invalid). Higher rows are
dropped and counted (TLC: ``fare_too_high``; KDD: ``reward``)."""


@dataclass(eq=False)
class Orders:
    """Orders of one simulated day. Times are seconds after the day's midnight."""

    t_request: np.ndarray
    """Request time, seconds after midnight (sorted ascending)."""
    o_lat: np.ndarray
    o_lng: np.ndarray
    d_lat: np.ndarray
    d_lng: np.ndarray
    trip_s: np.ndarray
    """Driving time from pick-up to drop-off, seconds."""
    trip_m: np.ndarray
    """Driving distance from pick-up to drop-off, metres."""
    fare: np.ndarray
    """Fare paid to the driver on completion, in the city's currency (dollars, yuan)."""
    o_zone: np.ndarray
    """Zone index of the origin (-1 when the city has no zones)."""
    d_zone: np.ndarray
    source_id: np.ndarray
    """Order id in the source (trip-record row, KDD order id) or a running number."""
    cancel_prob: np.ndarray | None = None
    """Per-order cancellation probabilities at 200, 400, ... 2000 m, shape (n, 10), or None."""
    dropped_rows: int = 0
    """Source rows that were unusable one by one and dropped."""
    drop_reasons: dict[str, int] = field(default_factory=dict)
    """Dropped rows by reason."""

    def __post_init__(self) -> None:
        n = len(self.t_request)
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and f.name != "cancel_prob" and len(v) != n:
                raise DataError(f"orders: column {f.name} has {len(v)} rows, expected {n}")
        if n and np.any(np.diff(self.t_request) < 0):
            raise DataError("orders: t_request must be sorted ascending")

    def __len__(self) -> int:
        return len(self.t_request)

    def take(self, idx: np.ndarray) -> Orders:
        """The orders at ``idx`` (kept in the given order), with the drop counters kept."""
        cols = {}
        for f in fields(self):
            v = getattr(self, f.name)
            cols[f.name] = v[idx] if isinstance(v, np.ndarray) else v
        return Orders(**cols)

    def window(self, start_s: float, end_s: float) -> Orders:
        """Orders requested in ``[start_s, end_s)``."""
        lo, hi = np.searchsorted(self.t_request, [start_s, end_s], side="left")
        return self.take(np.arange(lo, hi))

    @staticmethod
    def sort_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Columns reordered by request time (stable)."""
        order = np.argsort(cols["t_request"], kind="stable")
        return {k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}


def cancel_probability(pickup_m: np.ndarray, curve: Sequence[float] | np.ndarray) -> np.ndarray:
    """Cancellation probability from a curve at 200, 400 … 2000 m (linear in between, flat
    outside); ``curve`` may also hold one row of 10 per pair."""
    d = np.asarray(pickup_m, dtype=np.float64)
    c = np.asarray(curve, dtype=np.float64)
    if c.ndim == 1:
        return np.interp(d, KDD_CANCEL_DISTANCES_M, c)
    x = np.clip(d, KDD_CANCEL_DISTANCES_M[0], KDD_CANCEL_DISTANCES_M[-1])
    step = KDD_CANCEL_DISTANCES_M[1] - KDD_CANCEL_DISTANCES_M[0]
    pos = (x - KDD_CANCEL_DISTANCES_M[0]) / step
    i = np.minimum(pos.astype(np.int64), c.shape[1] - 2)
    w = pos - i
    rows = np.arange(c.shape[0])
    return (1.0 - w) * c[rows, i] + w * c[rows, i + 1]
