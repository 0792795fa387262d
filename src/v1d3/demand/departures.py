"""How a real date departs from its weekday's average, measured from NYC TLC trip records.

The measurement behind ``--real-days`` and ``--like-date`` (:mod:`v1d3.demand.real_days`),
run by ``scripts/day_departures.py``, which writes the shipped table
``v1d3/data/day_departures.json``. Input: TLC green-taxi trip records (every date of 2021 Q1),
of which only the pick-ups inside the 61 zones of the Manhattan table count.

For every Monday–Friday date ``d`` of the quarter, against its weekday ``w``'s baseline, the
mean over the weekday's dates that are not public holidays (storm days stay in it, as they stay
in a yearly average; holidays are measured against it and flagged):

- volume: ``x = log(n_d / mean_w n)``, ``n`` the date's pick-ups;
- hour ``h``: ``x = log((n_dh + ½) / (n_d p_wh + ½))``, ``p_wh`` the baseline's share of hour
  ``h``; then renormalised so that ``Σ_h p_wh exp(x_h) = 1``;
- zone ``z`` (the zones with at least :data:`MIN_ZONE_ORDERS` pick-ups per date on average):
  ``x = log((n_dz + ½) / (n_d q_wz + ½))``, ``q_wz`` the baseline's share of zone ``z``.

Each raw ``x`` has a Poisson sampling variance ``σ²`` (``1/n`` for the volume; for an hour or
zone, the exact variance of the transform when the count is Poisson with the mean ``μ``
expected from the date's total, its bias under that mean subtracted from ``x``), plus or minus
``1/N`` for the baseline's own count ``N`` (minus when the date is in its baseline). The
estimate shipped for an hour or a zone is the empirical-Bayes posterior under a normal prior
``N(0, τ²)``: ``τ²`` = mean of ``x²`` less mean of ``σ²`` over dates (per hour, smoothed over
neighbouring hours; per zone), the estimate ``x τ²/(τ² + σ²)`` and its noise (posterior
standard deviation) ``σ τ/√(τ² + σ²)``. Noisy cells — the night hours, the small zones, a storm
day's few trips — are thereby pulled towards 0 instead of passing for variation. The volume is
not shrunk: its noise (``σ`` ≈ 0.03) is a tenth of its spread, and a normal prior fitted to
ordinary days and storms together would pull a storm day's ratio towards 0 by more than its
noise; it is given with ``σ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from v1d3.errors import DataError

__all__ = [
    "QUARTER",
    "HOLIDAYS",
    "MIN_ZONE_ORDERS",
    "Pickups",
    "read_pickups",
    "shrink",
    "log_count_moments",
    "measure_departures",
    "summarise",
]

QUARTER = ("2021-01-01", "2021-03-31")
"""First and last date measured."""
HOLIDAYS = {
    "2021-01-01": "New Year's Day",
    "2021-01-18": "Martin Luther King Jr. Day",
    "2021-02-15": "Washington's Birthday",
}
"""The US federal holidays that fall on a weekday of 2021 Q1 (kept out of the baselines)."""
MIN_ZONE_ORDERS = 10.0
"""Least green-taxi pick-ups per business date, on average, for a zone's mix to be measured."""
_HALF = 0.5
_PICKUP_COLUMNS = ("lpep_pickup_datetime", "tpep_pickup_datetime")


class Pickups:
    """Pick-up counts by date, hour and zone: ``counts[date, hour, zone]``."""

    def __init__(self, dates: np.ndarray, counts: np.ndarray, zone_ids: np.ndarray, info: dict):
        self.dates = dates
        """datetime64[D] (D,): every date of the quarter."""
        self.counts = counts
        """float (D, 24, Z): pick-ups in the Manhattan table's zones."""
        self.zone_ids = zone_ids
        """TLC LocationIDs of the zones, the Manhattan table's order."""
        self.info = info
        """Rows read and rows left out, by reason."""


def _read_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        names = pq.read_schema(path).names
    except (OSError, ValueError) as e:  # missing, or not parquet (ArrowInvalid)
        raise DataError(f"{path}: not a readable parquet file ({e})") from None
    col = next((c for c in _PICKUP_COLUMNS if c in names), None)
    if col is None or "PULocationID" not in names:
        raise DataError(f"{path}: expected columns lpep_/tpep_pickup_datetime and PULocationID")
    try:
        t = pq.read_table(path, columns=[col, "PULocationID"])
    except (OSError, ValueError) as e:  # damaged data pages (ArrowInvalid, ArrowIOError)
        raise DataError(f"{path}: not a readable parquet file ({e})") from None
    when = t.column(0).to_numpy().astype("datetime64[s]")
    zone = t.column(1).fill_null(-1).to_numpy().astype(np.int64)
    return when, zone


def read_pickups(files: Sequence[Path], zone_ids: np.ndarray) -> Pickups:
    """Count the pick-ups of the trip-record ``files`` by date of :data:`QUARTER`, hour and zone
    (``zone_ids``: the zones counted, in their order; other zones and other dates are left out
    and counted in ``info``)."""
    parts = [_read_file(Path(f)) for f in files]
    when = np.concatenate([p[0] for p in parts])
    zone = np.concatenate([p[1] for p in parts])
    first, last = (np.datetime64(d, "D") for d in QUARTER)
    dates = np.arange(first, last + 1)
    day = when.astype("datetime64[D]")
    in_quarter = (day >= first) & (day <= last)
    idx = np.searchsorted(zone_ids, zone)
    idx = np.minimum(idx, zone_ids.size - 1)
    in_city = zone_ids[idx] == zone
    ok = in_quarter & in_city
    hour = ((when - day).astype(np.int64) // 3600)[ok]
    counts = np.zeros((dates.size, 24, zone_ids.size))
    np.add.at(counts, ((day[ok] - first).astype(np.int64), hour, idx[ok]), 1.0)
    info = {
        "rows": int(when.size),
        "outside_quarter": int((~in_quarter).sum()),
        "outside_manhattan_table": int((in_quarter & ~in_city).sum()),
        "counted": int(ok.sum()),
    }
    return Pickups(dates, counts, zone_ids.astype(np.int64), info)


def shrink(
    x: np.ndarray, var: np.ndarray, smooth: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes shrinkage of raw departures ``x[date, k]`` with sampling variances
    ``var``: the prior variance ``τ²[k]`` (mean of ``x²`` less mean of ``var``, at least 0;
    ``smooth``: averaged with its circular neighbours, weights ¼ ½ ¼), the posterior means and
    the posterior standard deviations."""
    tau2 = np.maximum((x**2).mean(axis=0) - var.mean(axis=0), 0.0)
    if smooth:
        tau2 = 0.25 * np.roll(tau2, 1) + 0.5 * tau2 + 0.25 * np.roll(tau2, -1)
    w = tau2 / (tau2 + var)
    return w * x, np.sqrt(w * var), tau2


def _baselines(
    counts: np.ndarray, weekday: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per date: the weekday baseline's mean total, its share of each hour and zone, and the
    baseline's counts (totals, hours, zones)."""
    n_w = np.zeros(5)
    hours = np.zeros((5, 24))
    zones = np.zeros((5, counts.shape[2]))
    k_w = np.zeros(5)
    for w in range(5):
        c = counts[base & (weekday == w)]
        k_w[w] = c.shape[0]
        n_w[w], hours[w], zones[w] = c.sum(), c.sum(axis=(0, 2)), c.sum(axis=(0, 1))
    return n_w[weekday] / k_w[weekday], hours[weekday], zones[weekday], n_w[weekday]


def log_count_moments(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``log((N + ½) / (μ + ½))`` for ``N ~ Poisson(μ)``, exactly (a sum
    over the distribution): with few expected trips the transform is biased below 0 and varies
    more than ``1/μ``, which would otherwise pass for a departure."""
    mu = np.asarray(mu, dtype=np.float64)
    k = np.arange(int(mu.max() + 12 * np.sqrt(mu.max()) + 30), dtype=np.float64)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
    m = np.maximum(mu, 1e-12)[..., None]
    pmf = np.exp(k * np.log(m) - m - log_fact)
    x = np.log((k + _HALF) / (m + _HALF))
    mean = (pmf * x).sum(axis=-1)
    return mean, (pmf * x**2).sum(axis=-1) - mean**2


def _raw(
    obs: np.ndarray,
    total: np.ndarray,
    base_counts: np.ndarray,
    base_total: np.ndarray,
    sign: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw log departures of shares, less their bias under no departure, and their Poisson
    variances (the baseline's own share ``1/N``: minus when the date is in it, else plus)."""
    share = base_counts / base_total[:, None]
    mu = total[:, None] * share
    bias, var = log_count_moments(mu)
    x = np.log((obs + _HALF) / (mu + _HALF)) - bias
    var = var + sign[:, None] / np.maximum(base_counts, 1.0)
    return x, np.maximum(var, 1e-9)


def measure_departures(p: Pickups) -> dict[str, Any]:
    """The departure table (the content of ``day_departures.json``) from the counts ``p``."""
    weekday = (p.dates.astype(np.int64) + 3) % 7
    keep = weekday < 5
    dates, weekday, counts = p.dates[keep], weekday[keep], p.counts[keep]
    labels = [str(d) for d in dates]
    holiday = np.array([d in HOLIDAYS for d in labels])
    base = ~holiday
    sign = np.where(base, -1.0, 1.0)
    n = counts.sum(axis=(1, 2))
    if np.any(n == 0):
        raise DataError(f"no pick-ups on {labels[int(np.argmin(n))]}: the records lack a date")
    mean_n, base_h, base_z, base_n = _baselines(counts, weekday, base)
    # the volume is not shrunk: its noise is a tenth of its spread, and a normal prior fitted to
    # ordinary days and storms alike would pull a storm's ratio in by more than its noise
    v = np.log(n / mean_n)[:, None]
    v_sd = np.sqrt(1.0 / n + sign / base_n)[:, None]
    tau2_v = np.maximum((v**2).mean(axis=0) - (v_sd**2).mean(axis=0), 0.0)
    x_h, var_h = _raw(counts.sum(axis=2), n, base_h, base_n, sign)
    h, h_sd, tau2_h = shrink(x_h, var_h, smooth=True)
    h -= np.log((base_h / base_n[:, None] * np.exp(h)).sum(axis=1, keepdims=True))
    usable = counts[base].sum(axis=(0, 1)) / base.sum() >= MIN_ZONE_ORDERS
    x_z, var_z = _raw(counts.sum(axis=1)[:, usable], n, base_z[:, usable], base_n, sign)
    z, z_sd, tau2_z = shrink(x_z, var_z)
    r = _round
    rows = [
        {
            "date": labels[i],
            "weekday": int(weekday[i]),
            "holiday": HOLIDAYS.get(labels[i]),
            "orders": int(n[i]),
            "volume": r(v[i, 0]),
            "volume_sd": r(v_sd[i, 0]),
            "hour": r(h[i]),
            "hour_sd": r(h_sd[i]),
            "zone": r(z[i]),
            "zone_sd": r(z_sd[i]),
        }
        for i in range(len(labels))
    ]
    per_w = [int(round(float(mean_n[weekday == w][0]))) for w in range(5)]
    return {
        "source": "NYC TLC green-taxi trip records, 2021-01-01..2021-03-31, pick-ups in the "
        "zones of the Manhattan table",
        "counts": p.info,
        "baseline_orders_per_day": per_w,
        "baseline_orders_by_hour": r(counts[base].sum(axis=2).mean(axis=0), 1),
        "zone_ids": [int(i) for i in p.zone_ids[usable]],
        "zone_orders_per_day": r(counts[base].sum(axis=(0, 1))[usable] / base.sum(), 1),
        "tau": {
            "volume": r(np.sqrt(tau2_v))[0],
            "hour": r(np.sqrt(tau2_h)),
            "zone": r(np.sqrt(tau2_z)),
        },
        "dates": rows,
    }


def _round(a: Any, digits: int = 4) -> Any:
    """Rounded plain floats (``-0.0`` written as ``0.0``) of a number or an array."""
    arr = np.round(np.asarray(a, dtype=np.float64), digits) + 0.0
    return arr.tolist()


def _spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    q10, q50, q90 = np.quantile(a, [0.1, 0.5, 0.9])
    return {
        "sd": round(float(a.std()), 3),
        "p10": round(float(q10), 3),
        "median": round(float(q50), 3),
        "p90": round(float(q90), 3),
    }


def summarise(table: dict[str, Any], dates: Sequence[str] = ()) -> dict[str, Any]:
    """The figures quoted in docs/simulation.md: spreads over the measured dates (all, and the
    business dates that are not holidays), the extreme dates, and the full rows of ``dates``."""
    rows = table["dates"]
    ordinary = [d for d in rows if d["holiday"] is None]

    def hour_rms(d: dict) -> float:
        return float(np.sqrt(np.mean(np.square(d["hour"]))))

    def zone_rms(d: dict) -> float:
        return float(np.sqrt(np.mean(np.square(d["zone"]))))

    out: dict[str, Any] = {
        "dates": len(rows),
        "holidays": {d["date"]: d["holiday"] for d in rows if d["holiday"]},
        "baseline_orders_per_day": table["baseline_orders_per_day"],
        "baseline_orders_by_hour": table["baseline_orders_by_hour"],
        "volume_sd_median": float(np.median([d["volume_sd"] for d in rows])),
        "tau": table["tau"],
    }
    for name, group in (("all", rows), ("non_holiday", ordinary)):
        out[f"spread_{name}"] = {
            "volume": _spread([d["volume"] for d in group]),
            "hour_rms": _spread([hour_rms(d) for d in group]),
            "zone_rms": _spread([zone_rms(d) for d in group]),
        }
    lowest = sorted(rows, key=lambda d: d["volume"])[:6]
    out["lowest_volume"] = {d["date"]: [d["volume"], d["volume_sd"]] for d in lowest}
    out["zones"] = dict(zip(table["zone_ids"], table["zone_orders_per_day"], strict=True))
    out["rows"] = {d["date"]: d for d in rows if d["date"] in dates}
    return out
