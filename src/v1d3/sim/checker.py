"""The simulation's invariants, checked on a finished run from its logs alone.

Use it on runs of your own policies: ``check_run(RunLog.read(folder)).raise_if_failed()``, or
:func:`check_folder` on a run folder, which also checks its ``metrics.json`` against the logs.

Every number the checks read must be finite where the schema (``docs/log-schema.md``) says so
(:data:`FINITE_COLUMNS`, :data:`MATCHED_FINITE_COLUMNS`): a comparison with NaN is false, so a NaN
would otherwise pass every check it takes part in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.errors import CheckError, DataError
from v1d3.sim.log import EVENT_COLUMNS, EVENT_KINDS, ORDER_STATUS, RunLog
from v1d3.text_files import read_json

__all__ = [
    "CheckReport",
    "check_run",
    "check_metrics",
    "check_folder",
    "FINITE_COLUMNS",
    "MATCHED_FINITE_COLUMNS",
    "CHECKED_METRICS",
]

_K = {k: i for i, k in enumerate(EVENT_KINDS)}
_S = {k: i for i, k in enumerate(ORDER_STATUS)}
POSITION_TOL_DEG = 1e-7
MONEY_TOL = 1e-6
INCOME_DECIMALS = 2
"""``metrics.json`` gives ``total_income`` rounded to this many decimals."""

FINITE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": tuple(c for c, t in EVENT_COLUMNS.items() if np.dtype(t).kind == "f"),
    "orders": ("t_request_s", "fare", "trip_s", "trip_m")
    + ("origin_lat", "origin_lng", "dest_lat", "dest_lng"),
    "drivers": ("t_on_s", "t_off_s"),
    "rounds": ("t_s", "ms"),
}
"""The float columns that must be finite on every row, by table."""
MATCHED_FINITE_COLUMNS = ("t_assign_s", "pickup_m", "pickup_s")
"""Order columns that must be finite on every order a driver was assigned to (completed or
cancelled); NaN on the others. ``t_end_s`` must be finite on every order no longer open."""
CHECKED_METRICS = ("orders", "matched", "completed", "cancelled", "total_income")
"""The ``metrics.json`` figures :func:`check_metrics` recomputes from the logs."""


@dataclass
class CheckReport:
    """The outcome of :func:`check_run`: a list of violated invariants (empty when all hold)."""

    violations: list[str] = field(default_factory=list)

    def fail(self, msg: str, bad: np.ndarray) -> None:
        """Add ``msg`` with a count and the first row when ``bad`` marks any row."""
        idx = np.flatnonzero(bad)
        if idx.size:
            self.violations.append(f"{msg} ({idx.size} cases, first at row {int(idx[0])})")

    @property
    def ok(self) -> bool:
        return not self.violations

    def raise_if_failed(self) -> None:
        if self.violations:
            raise CheckError("run violates invariants: " + "; ".join(self.violations[:10]))


def _check_finite(log: RunLog, rep: CheckReport) -> None:
    for table, columns in FINITE_COLUMNS.items():
        cols = getattr(log, table)
        for c in columns:
            rep.fail(f"{table}: {c} is not a finite number", ~np.isfinite(cols[c]))
    o = log.orders
    matched = (o["status"] == _S["completed"]) | (o["status"] == _S["cancelled"])
    for c in MATCHED_FINITE_COLUMNS:
        rep.fail(
            f"orders: {c} of an assigned order is not a finite number", matched & ~np.isfinite(o[c])
        )
    rep.fail(
        "orders: t_end_s of an order no longer open is not a finite number",
        (o["status"] != _S["open"]) & ~np.isfinite(o["t_end_s"]),
    )


def check_run(log: RunLog, metrics: Mapping[str, Any] | None = None) -> CheckReport:
    """Check every invariant; each violated one adds a message with a count and an example.

    ``metrics``: the run's ``metrics.json`` as read, checked too (:func:`check_metrics`).
    """
    rep = CheckReport()
    _check_finite(log, rep)
    if metrics is not None:
        rep.violations += check_metrics(log, metrics)
    ev = log.events
    kind = ev["kind"]
    drv = ev["driver_id"]
    t0 = ev["t_start_s"]
    t1 = ev["t_end_s"]
    o = log.orders
    n_drivers = log.drivers["driver_id"].size
    n_orders = o["status"].size

    fail = rep.fail

    # clock monotone: no event ends before it starts; events ordered by start time
    fail("event ends before it starts", t1 < t0 - 1e-9)
    fail("event log not ordered by time", np.diff(t0) < -1e-9)
    drv_ok = (drv >= 0) & (drv < n_drivers)
    fail("unknown driver id in events", ~drv_ok)
    fail("unknown event kind", (kind < 0) | (kind >= len(EVENT_KINDS)))
    fail("event before the horizon", t0 < log.meta["start_s"] - 1e-9)
    fail("order with an unknown status", (o["status"] < 0) | (o["status"] >= len(ORDER_STATUS)))

    # each order served at most once, never both served and cancelled
    trip = kind == _K["trip"]
    canc = kind == _K["cancel"]
    oid = ev["order_id"]
    # trips and cancellations must name an order of the orders table (a run may have none)
    order_ok = (oid >= 0) & (oid < n_orders)
    fail("trip or cancellation of an order not in the orders table", (trip | canc) & ~order_ok)
    trip_ok = trip & order_ok
    served_orders = oid[trip_ok]
    fail("order served more than once", np.bincount(served_orders, minlength=1) > 1)
    both = np.intersect1d(served_orders, oid[canc])
    fail("order both served and cancelled", np.isin(np.arange(n_orders), both))
    completed = o["status"] == _S["completed"]
    served_mask = np.zeros(n_orders, dtype=bool)
    served_mask[served_orders] = True
    fail("completed orders and trip events disagree", served_mask != completed)

    # income equals the sum of completed fares, trip by trip
    fail(
        "trip reward differs from its order's fare",
        np.abs(ev["reward"][trip_ok] - o["fare"][served_orders]) > MONEY_TOL,
    )
    total = float(ev["reward"].sum())
    fares = float(o["fare"][completed].sum())
    if abs(total - fares) > MONEY_TOL * max(1.0, abs(fares)):
        rep.violations.append(f"income {total:.2f} differs from completed fares {fares:.2f}")
    fail("reward on a non-trip event", (~trip) & (np.abs(ev["reward"]) > 0))

    # no pickup beyond the radius
    radius = float(log.meta["pickup_radius_m"])
    fail("pickup beyond the radius", (trip | canc) & (ev["pickup_m"] > radius * (1 + 1e-9)))

    # drivers conserved: one shift start and one shift end each, everything in between,
    # no two trips at once, and positions continuous from one event to the next
    # a cancellation changes no driver state (the driver stays available, even mid-repositioning),
    # so the driver's sequence of states is every other event
    seq = np.flatnonzero(~canc & drv_ok)
    order = seq[np.lexsort((seq, t0[seq], drv[seq]))]
    d = drv[order]
    k = kind[order]
    s0 = t0[order]
    s1 = t1[order]
    starts = np.bincount(drv[drv_ok & (kind == _K["shift_start"])], minlength=n_drivers)
    ends = np.bincount(drv[drv_ok & (kind == _K["shift_end"])], minlength=n_drivers)
    fail("driver with more than one shift start", starts > 1)
    fail("driver whose shift start and end do not pair up", starts != ends)
    first = np.r_[True, d[1:] != d[:-1]]
    last = np.r_[d[1:] != d[:-1], True]
    fail("driver's first event is not its shift start", first & (k != _K["shift_start"]))
    fail("driver's last event is not its shift end", last & (k != _K["shift_end"]))
    same = ~first
    prev_end = np.r_[-np.inf, s1[:-1]]
    fail("driver starts an event before its previous one ended", same & (s0 < prev_end - 1e-6))
    lat0 = ev["start_lat"][order]
    lng0 = ev["start_lng"][order]
    lat1 = np.r_[np.nan, ev["end_lat"][order][:-1]]
    lng1 = np.r_[np.nan, ev["end_lng"][order][:-1]]
    jump = same & (
        (np.abs(lat0 - lat1) > POSITION_TOL_DEG) | (np.abs(lng0 - lng1) > POSITION_TOL_DEG)
    )
    fail("driver position jumps between events", jump)
    return rep


def check_metrics(log: RunLog, metrics: Mapping[str, Any]) -> list[str]:
    """The figures of :data:`CHECKED_METRICS` in ``metrics`` that the logs contradict (an edited
    or foreign ``metrics.json``), each as a message with both values."""
    status = log.orders["status"]
    completed = int(np.sum(status == _S["completed"]))
    cancelled = int(np.sum(status == _S["cancelled"]))
    trip = log.events["kind"] == _K["trip"]
    income = float(log.events["reward"][trip].sum())
    want = {
        "orders": int(status.size),
        "matched": completed + cancelled,
        "completed": completed,
        "cancelled": cancelled,
        "total_income": income,
    }
    out = []
    for key in CHECKED_METRICS:
        got = metrics.get(key)
        if isinstance(got, bool) or not isinstance(got, int | float):
            out.append(f"metrics.json: {key} is {got!r}, not a number")
            continue
        tol = 0.5 * 10.0**-INCOME_DECIMALS + MONEY_TOL * abs(income) if key == "total_income" else 0
        if not abs(got - want[key]) <= tol:  # NaN: a violation too
            out.append(f"metrics.json: {key} is {got}, the logs give {want[key]:g}")
    return out


def check_folder(folder: str | os.PathLike[str]) -> CheckReport:
    """Check a run folder: :func:`check_run` on its logs and, when the folder has one, its
    ``metrics.json`` against them. An unreadable file is a DataError naming it."""
    folder = Path(folder)
    log = RunLog.read(folder)
    path = folder / "metrics.json"
    metrics = None
    if os.path.lexists(path):
        metrics = read_json(path, "run folder's metrics.json")
        if not isinstance(metrics, dict):
            raise DataError(f"{path}: expected a JSON object (the run's metrics)")
    return check_run(log, metrics)
