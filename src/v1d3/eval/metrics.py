"""Every figure of a run, computed in one place from its logs (never from simulator internals).

``metrics.json`` keys (stable): see :data:`METRIC_KEYS`. Wait is request → pickup of completed
orders; pickup distances are straight-line driver-to-origin distances of completed trips;
utilisation is the share of online time spent on pickups and trips. The managed drivers' income
per online hour is given two ways: ``income_per_online_hour_managed``, their income summed over
their online hours summed (a fleet figure: long shifts weigh more), and
``income_per_online_hour_managed_kdd``, the KDD Cup 2020 repositioning score within one day:
each managed driver's income over its own online hours, averaged over the managed drivers who
were online (each driver counts once). The competition summed each of its 5 drivers' income and
online time over the days of the test before dividing; a driver here exists on one day only (a
row of one run's fleet, drawn anew for each weekday and seed), so the per-driver ratio is a
day's, and a study averages it over days (``scripts/coordination_study.py``).

Besides the scalars: the figures by hour of day (:func:`metrics_by_hour`, pooled over runs by
:func:`pooled_by_hour`), by hour × cell (:func:`orders_by_cell`, :func:`idle_minutes`), per
driver (:func:`driver_table`, :func:`driver_hourly_income`, :func:`managed_hourly_income`,
:func:`idle_spells`) and the repositioning headroom. Statistics over many runs (intervals,
paired differences) live in :mod:`v1d3.eval.summary`. Only numpy and the log tables are needed
here: no policy, no torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from v1d3.sim.log import EVENT_KINDS, ORDER_STATUS, RunLog

__all__ = [
    "METRIC_KEYS",
    "compute_metrics",
    "metrics_by_hour",
    "pooled_by_hour",
    "orders_by_cell",
    "idle_minutes",
    "pickup_sample",
    "gini",
    "driver_table",
    "driver_hourly_income",
    "managed_hourly_income",
    "idle_spells",
    "reposition_headroom",
    "hour_overlaps",
]

METRIC_KEYS = (
    "orders",
    "matched",
    "completed",
    "cancelled",
    "total_income",
    "answer_rate",
    "completion_rate",
    "cancel_rate",
    "wait_mean_s",
    "wait_p90_s",
    "pickup_km_mean",
    "pickup_km_p90",
    "utilisation",
    "income_per_online_hour",
    "income_per_online_hour_managed",
    "income_per_online_hour_managed_kdd",
    "managed_drivers",
    "income_gini",
    "wall_s",
    "dispatch_round_ms_p50",
    "dispatch_round_ms_p99",
    "dropped_rows",
)

_TRIP = EVENT_KINDS.index("trip")
_START = EVENT_KINDS.index("shift_start")
_END = EVENT_KINDS.index("shift_end")
_COMPLETED = ORDER_STATUS.index("completed")
_CANCELLED = ORDER_STATUS.index("cancelled")
_EXPIRED = ORDER_STATUS.index("expired")


def hour_overlaps(
    start_s: np.ndarray, end_s: np.ndarray, stop_h: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """For each hour ``h`` that the intervals ``[start_s, end_s)`` reach (below ``stop_h`` when
    given): ``h`` (counted from midnight, so 24 and on are the next day) and the seconds of
    each interval that fall in it (0 for those outside)."""
    if start_s.size == 0:
        return
    last = int(np.ceil(end_s.max() / 3600.0))
    for h in range(int(start_s.min() // 3600), last if stop_h is None else min(stop_h, last)):
        lo = h * 3600.0
        yield h, np.clip(np.minimum(end_s, lo + 3600.0) - np.maximum(start_s, lo), 0.0, None)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, → 1 = concentrated)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float((2 * np.sum(i * x) / (n * x.sum())) - (n + 1) / n)


def _safe(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else 0.0


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else 0.0


def driver_table(log: RunLog) -> dict[str, np.ndarray]:
    """Per driver: online seconds, busy seconds, income, managed flag."""
    ev = log.events
    n = log.drivers["driver_id"].size
    kind = ev["kind"]
    drv = ev["driver_id"]
    t_on = np.full(n, np.nan)
    t_off = np.full(n, np.nan)
    s = kind == _START
    t_on[drv[s]] = ev["t_start_s"][s]
    e = kind == _END
    t_off[drv[e]] = ev["t_start_s"][e]
    online = np.nan_to_num(t_off - t_on)
    trip = kind == _TRIP
    busy = np.bincount(drv[trip], weights=ev["t_end_s"][trip] - ev["t_start_s"][trip], minlength=n)
    income = np.bincount(drv[trip], weights=ev["reward"][trip], minlength=n)
    return {
        "online_s": online,
        "busy_s": busy,
        "income": income,
        "managed": np.asarray(log.drivers["managed"], dtype=bool),
    }


def driver_hourly_income(log: RunLog) -> np.ndarray:
    """Income per online hour of every driver who was online (in driver order)."""
    d = driver_table(log)
    online_h = d["online_s"] / 3600.0
    active = online_h > 0
    return np.asarray(d["income"][active] / online_h[active])


def managed_hourly_income(log: RunLog) -> np.ndarray:
    """Income per online hour of every managed driver who was online (in driver order): the
    KDD Cup 2020 repositioning score of one day is their mean."""
    return _managed_rates(driver_table(log))


def _managed_rates(d: Mapping[str, np.ndarray]) -> np.ndarray:
    online_h = d["online_s"] / 3600.0
    keep = (online_h > 0) & d["managed"]
    return np.asarray(d["income"][keep] / online_h[keep])


def idle_spells(log: RunLog) -> dict[str, np.ndarray]:
    """Every driver's spells without a passenger, in time order per driver.

    A spell runs from a shift's start or a trip's end (drop-off) to the next trip's start
    (assignment) or the shift's end. Idle drift, cancelled assignments and repositioning trips
    happen inside spells: none of them earns. Returns ``driver_id``, ``start_s``, ``end_s``.
    """
    ev = log.events
    kind = ev["kind"]
    keep = (kind == _TRIP) | (kind == _START) | (kind == _END)
    k = kind[keep]
    drv = ev["driver_id"][keep]
    t0 = ev["t_start_s"][keep]
    t1 = ev["t_end_s"][keep]
    rank = np.where(k == _START, 0, np.where(k == _END, 2, 1))
    o = np.lexsort((rank, t0, drv))
    drv, k, t0, t1 = drv[o], k[o], t0[o], t1[o]
    same = (drv[1:] == drv[:-1]) & (k[:-1] != _END)
    start = t1[:-1][same]
    return {
        "driver_id": drv[1:][same],
        "start_s": start,
        "end_s": np.maximum(t0[1:][same], start),
    }


def reposition_headroom(log: RunLog, after_s: float) -> dict[str, Any]:
    """How much of the managed drivers' online time a repositioning policy could act on.

    A managed driver is offered to the repositioning policy once it has been idle for
    ``after_s`` seconds, so only the part of an idle spell (:func:`idle_spells`) beyond
    ``after_s`` can be shortened by repositioning. Returned, over managed drivers:

    - ``idle_share``: idle time / online time;
    - ``actionable_share``: idle time beyond ``after_s`` in each spell / online time;
    - ``actionable_h_by_hour``: actionable hours by hour of day, shape (24,) (an hour of
      the next day counts with the same hour of this one);
    - ``headroom``: actionable time / time not idle. Measured on a run whose managed drivers
      stay, this is the rise in their income per online hour if every actionable second had
      been spent on trips that earn what their trips earned: the ceiling of a repositioning
      policy that gets its drivers a passenger the moment they are offered to it. It is an
      estimate, not a bound: repositioning also changes which trips drivers get and where
      later spells start;
    - ``headroom_demand``: the same, with each hour's actionable time capped by the orders
      lost that hour (requested, never matched) times the mean length of a served trip
      (pickup and ride): idle time in an hour when nearly every order is answered has no
      passenger to be moved to, however the drivers are placed.
    """
    if after_s < 0:
        raise ValueError(f"after_s must be >= 0 seconds, got {after_s}")
    d = driver_table(log)
    managed = d["managed"]
    online = float(d["online_s"][managed].sum())
    sp = idle_spells(log)
    m = managed[sp["driver_id"]]
    length = (sp["end_s"] - sp["start_s"])[m]
    idle = float(length.sum())
    actionable = float(np.clip(length - after_s, 0.0, None).sum())
    # the actionable part of each spell, split between the hours of day it overlaps
    a = sp["start_s"][m] + after_s
    b = sp["end_s"][m]
    keep = b > a
    by_hour = np.zeros(24)
    for h, overlap in hour_overlaps(a[keep], b[keep]):
        by_hour[h % 24] += overlap.sum()
    return {
        "online_h": online / 3600.0,
        "idle_share": _safe(idle, online),
        "actionable_share": _safe(actionable, online),
        "headroom": _safe(actionable, online - idle),
        "headroom_demand": _safe(
            float(_lost_trip_s_by_hour(log).clip(max=by_hour).sum()), online - idle
        ),
        "actionable_h_by_hour": by_hour / 3600.0,
    }


def _lost_trip_s_by_hour(log: RunLog) -> np.ndarray:
    """Seconds of work the orders lost in each hour of day would have been, shape (24,): their
    count by request hour times the mean pickup + ride of the served orders."""
    o = log.orders
    served = o["status"] == _COMPLETED
    per_trip = float(np.mean((o["pickup_s"] + o["trip_s"])[served])) if served.any() else 0.0
    lost = o["status"] == _EXPIRED
    hour = (np.asarray(o["t_request_s"])[lost] // 3600).astype(np.int64) % 24
    return np.bincount(hour, minlength=24)[:24] * per_trip


def compute_metrics(log: RunLog) -> dict[str, Any]:
    """The run's ``metrics.json`` as a dict (keys in :data:`METRIC_KEYS` order)."""
    o = log.orders
    status = o["status"]
    n = int(status.size)
    completed = status == _COMPLETED
    cancelled = status == _CANCELLED
    matched = completed | cancelled
    wait = (o["t_assign_s"] + o["pickup_s"] - o["t_request_s"])[completed]
    pick_km = o["pickup_m"][completed] / 1000.0
    ev = log.events
    trip = ev["kind"] == _TRIP
    income = float(ev["reward"][trip].sum())
    d = driver_table(log)
    online_h = d["online_s"] / 3600.0
    active = online_h > 0
    hourly = d["income"][active] / online_h[active]
    man = active & d["managed"]
    ms = log.rounds["ms"]
    m = {
        "orders": n,
        "matched": int(matched.sum()),
        "completed": int(completed.sum()),
        "cancelled": int(cancelled.sum()),
        "total_income": round(income, 2),
        "answer_rate": _safe(matched.sum(), n),
        "completion_rate": _safe(completed.sum(), n),
        "cancel_rate": _safe(cancelled.sum(), matched.sum()),
        "wait_mean_s": float(wait.mean()) if wait.size else 0.0,
        "wait_p90_s": _pct(wait, 90),
        "pickup_km_mean": float(pick_km.mean()) if pick_km.size else 0.0,
        "pickup_km_p90": _pct(pick_km, 90),
        "utilisation": _safe(np.minimum(d["busy_s"], d["online_s"]).sum(), d["online_s"].sum()),
        "income_per_online_hour": _safe(d["income"].sum(), online_h.sum()),
        "income_per_online_hour_managed": _safe(d["income"][man].sum(), online_h[man].sum()),
        "income_per_online_hour_managed_kdd": _mean(_managed_rates(d)),
        "managed_drivers": int(d["managed"].sum()),
        "income_gini": gini(hourly),
        "wall_s": float(log.meta.get("wall_s", 0.0)),
        "dispatch_round_ms_p50": _pct(ms, 50),
        "dispatch_round_ms_p99": _pct(ms, 99),
        "dropped_rows": int(log.meta.get("dropped_rows", 0)),
    }
    return {k: m[k] for k in METRIC_KEYS}


def metrics_by_hour(log: RunLog) -> dict[str, np.ndarray]:
    """The main figures per hour of day (by request hour for orders, event start for income)."""
    o = log.orders
    hour = np.floor(o["t_request_s"] / 3600.0).astype(np.int64)
    hours = np.arange(24)
    status = o["status"]
    completed = status == _COMPLETED
    matched = completed | (status == _CANCELLED)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(hour[mask], minlength=24)[:24].astype(np.float64)

    n = count(np.ones_like(completed))
    wait = np.where(completed, o["t_assign_s"] + o["pickup_s"] - o["t_request_s"], 0.0)
    wait_sum = np.bincount(hour, weights=wait, minlength=24)[:24]
    pick_sum = np.bincount(hour, weights=np.where(completed, o["pickup_m"], 0.0), minlength=24)[:24]
    ev = log.events
    trip = ev["kind"] == _TRIP
    ih = np.floor(ev["t_start_s"][trip] / 3600.0).astype(np.int64).clip(0, 23)
    income = np.bincount(ih, weights=ev["reward"][trip], minlength=24)[:24]
    # drivers online, averaged over the hour
    d = driver_table(log)
    on = np.full(d["online_s"].size, np.nan)
    off = np.full(d["online_s"].size, np.nan)
    s = ev["kind"] == _START
    on[ev["driver_id"][s]] = ev["t_start_s"][s]
    e = ev["kind"] == _END
    off[ev["driver_id"][e]] = ev["t_start_s"][e]
    ok = ~np.isnan(on) & ~np.isnan(off)
    online = np.zeros(24)
    for h, overlap in hour_overlaps(on[ok], off[ok], stop_h=24):
        online[h] = overlap.sum() / 3600.0
    comp = count(completed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "hour": hours,
            "orders": n,
            "matched": count(matched),
            "completed": comp,
            "answer_rate": np.where(n > 0, count(matched) / np.maximum(n, 1), 0.0),
            "completion_rate": np.where(n > 0, comp / np.maximum(n, 1), 0.0),
            "income": income,
            "wait_mean_s": np.where(comp > 0, wait_sum / np.maximum(comp, 1), 0.0),
            "pickup_km_mean": np.where(comp > 0, pick_sum / np.maximum(comp, 1) / 1000, 0.0),
            "drivers_online": online,
        }


def pooled_by_hour(hourly: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Hourly figures of several runs (each :func:`metrics_by_hour`) pooled: the answer rate and
    the mean wait over all their orders, and the mean income per run. NaN in hours without
    orders (answer rate, income) or without completed orders (wait)."""
    orders = np.sum([h["orders"] for h in hourly], axis=0)
    matched = np.sum([h["matched"] for h in hourly], axis=0)
    comp = np.sum([h["completed"] for h in hourly], axis=0)
    wait = np.sum([h["wait_mean_s"] * h["completed"] for h in hourly], axis=0)
    income = np.mean([h["income"] for h in hourly], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "answer_rate": np.where(orders > 0, matched / orders, np.nan),
            "income": np.where(orders > 0, income, np.nan),
            "wait_mean_s": np.where(comp > 0, wait / comp, np.nan),
        }


def orders_by_cell(log: RunLog, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Orders, and orders never answered (expired), by request hour × origin cell: two arrays
    of shape (24, n_cells); requests after midnight count in hour 23."""
    o = log.orders
    hour = np.clip(np.floor(o["t_request_s"] / 3600.0).astype(np.int64), 0, 23)
    cell = o["origin_cell"].astype(np.int64)
    flat = hour * n_cells + cell
    size = 24 * n_cells
    orders = np.bincount(flat, minlength=size)[:size].reshape(24, n_cells)
    lost = o["status"] == _EXPIRED
    unserved = np.bincount(flat[lost], minlength=size)[:size].reshape(24, n_cells)
    return orders, unserved


def idle_minutes(log: RunLog, n_cells: int) -> np.ndarray:
    """Idle driver-minutes by hour of day × cell, shape (24, n_cells).

    A driver waits idle between two consecutive events (from the end of one to the start of the
    next), in the cell where the first one ended; waits spanning hours are split between them.
    An event inside another (a cancellation while repositioning) does not end the outer one: the
    wait starts when everything before it has ended.
    """
    ev = log.events
    kind = ev["kind"]
    drv = ev["driver_id"]
    rank = np.where(kind == _START, 0, np.where(kind == _END, 2, 1))
    o = np.lexsort((rank, ev["t_start_s"], drv))
    drv = drv[o]
    # latest end so far per driver (an offset per driver keeps the running max within a driver)
    offset = drv.astype(np.float64) * 2.0**18
    keyed = ev["t_end_s"][o] + offset
    run_max = np.maximum.accumulate(keyed)
    last = np.maximum.accumulate(np.where(keyed >= run_max, np.arange(keyed.size), 0))
    same = drv[1:] == drv[:-1]
    same &= kind[o][:-1] != _END
    a = ev["t_end_s"][o][last][:-1][same]
    b = ev["t_start_s"][o][1:][same]
    cell = ev["end_cell"][o][last][:-1][same]
    keep = (b > a) & (cell >= 0) & (cell < n_cells)
    a, b, cell = a[keep], b[keep], cell[keep]
    out = np.zeros((24, n_cells), dtype=np.float64)
    for h, ov in hour_overlaps(a, b, stop_h=24):
        pos = ov > 0
        if pos.any():
            out[h] = np.bincount(cell[pos], weights=ov[pos], minlength=n_cells)[:n_cells]
    return out / 60.0


def pickup_sample(log: RunLog, size: int, rng: np.random.Generator) -> np.ndarray:
    """Pickup distances of completed trips, km (float32): all of them, or ``size`` drawn by
    ``rng`` without replacement, kept in order, when there are more."""
    o = log.orders
    completed = o["status"] == _COMPLETED
    pick = (o["pickup_m"][completed] / 1000.0).astype(np.float32)
    if pick.size > size:
        pick = pick[np.sort(rng.choice(pick.size, size, replace=False))]
    return pick
