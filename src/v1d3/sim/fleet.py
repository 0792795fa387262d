"""Driver shifts: who is online when, and where each driver starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.geo.projection import jitter_latlng
from v1d3.sim.config import DAY_S, SimConfig

__all__ = ["Fleet", "make_fleet", "anchor_weights", "near_origins"]

SLOT_S = 900.0
"""Resolution of the demand curve the online fleet is fitted to, seconds (15 minutes)."""
SMOOTH_SLOTS = 4
"""Width of the moving average of that curve, slots (4 = one hour): the fleet follows the
hour's demand, not each 15-minute slot's noise."""
LENGTH_POINTS = 64
"""Quantiles of the shift-length distribution used to compute the coverage kernel."""


@dataclass(eq=False)
class Fleet:
    """The day's drivers as columns. Times are seconds after midnight."""

    t_on: np.ndarray
    """Shift start, seconds after midnight."""
    t_off: np.ndarray
    """Shift end, seconds after midnight (a driver on a trip finishes it first)."""
    lat: np.ndarray
    """Start latitude, degrees."""
    lng: np.ndarray
    """Start longitude, degrees."""
    managed: np.ndarray
    """Whether the repositioning policy manages the driver (bool)."""

    def __len__(self) -> int:
        return len(self.t_on)


def make_fleet(
    n: int, orders: Orders, start_s: float, end_s: float, cfg: SimConfig, rng: np.random.Generator
) -> Fleet:
    """Draw ``n`` shifts that follow the demand.

    Each driver is anchored to an order of the day: it comes online near that order's origin, up
    to 15 minutes before the order's request time, for a shift of normal length
    (``shift_mean_h`` ± ``shift_std_h``, clipped to 1–16 h). Anchors are drawn with the weights
    of :func:`anchor_weights`, so that the expected number of drivers online follows the driver
    time the day's trips take, hour by hour. ``shift_mean_h = 0`` keeps every driver online over
    the whole horizon. Shifts are cut at the horizon, unless ``cfg.overnight_shifts`` and the
    horizon is a whole day: then the part of a shift beyond midnight is worked at the day's
    start (the previous evening's drivers, still online), by one more driver, who starts near
    the same order's origin.
    """
    if n <= 0:
        raise ConfigError(f"drivers must be a positive number, got {n}")
    if len(orders) == 0:
        raise ConfigError("cannot place drivers: the scenario has no orders in its horizon")
    periodic = bool(cfg.overnight_shifts and np.isclose(end_s - start_s, DAY_S))
    if cfg.shift_mean_h <= 0:
        anchor = rng.integers(0, len(orders), size=n)
    else:
        p = anchor_weights(orders.t_request, orders.trip_s, start_s, end_s, cfg, periodic)
        anchor = rng.choice(len(orders), size=n, p=p)
    lat, lng = near_origins(orders, anchor, rng)
    if cfg.shift_mean_h <= 0:
        t_on = np.full(n, start_s)
        t_off = np.full(n, end_s)
    else:
        length = np.clip(rng.normal(cfg.shift_mean_h, cfg.shift_std_h, size=n), 1.0, 16.0) * 3600
        t_on = orders.t_request[anchor] - rng.random(n) * SLOT_S
        t_off = t_on + length
        span = end_s - start_s
        if periodic:
            # a shift is shorter than a day, so it crosses at most one end of the horizon
            late = np.flatnonzero(t_off > end_s)
            early = np.flatnonzero(t_on < start_s)
            extra = np.concatenate([late, early])
            t_on = np.concatenate([t_on, np.full(late.size, start_s), t_on[early] + span])
            t_off = np.concatenate([t_off, t_off[late] - span, np.full(early.size, end_s)])
            lat2, lng2 = near_origins(orders, anchor[extra], rng)
            lat = np.concatenate([lat, lat2])
            lng = np.concatenate([lng, lng2])
            n = t_on.size
        t_on = np.clip(t_on, start_s, end_s)
        t_off = np.clip(t_off, start_s, end_s)
    return Fleet(t_on=t_on, t_off=t_off, lat=lat, lng=lng, managed=_managed(n, cfg, rng))


def _managed(n: int, cfg: SimConfig, rng: np.random.Generator) -> np.ndarray:
    """Which of ``n`` drivers the repositioning policy manages: the first
    ``cfg.managed_drivers`` (else ``managed_share`` × n, rounded) of one random order of the
    drivers, drawn the same way whichever is set, so the managed sets of one seed are nested."""
    order = rng.permutation(n)
    if cfg.managed_drivers is None:
        count = int(round(cfg.managed_share * n))
    elif cfg.managed_drivers > n:
        raise ConfigError(
            f"sim config: managed_drivers must be at most the run's {n} drivers, "
            f"got {cfg.managed_drivers}"
        )
    else:
        count = cfg.managed_drivers
    managed = np.zeros(n, dtype=bool)
    managed[order[:count]] = True
    return managed


def near_origins(
    orders: Orders, idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes a few hundred metres from the origins of orders ``idx`` (normal
    jitter of 150 m per axis, so that drivers do not sit on one point)."""
    return jitter_latlng(orders.o_lat[idx], orders.o_lng[idx], 150.0, rng)


def anchor_weights(
    t_request: np.ndarray,
    trip_s: np.ndarray,
    start_s: float,
    end_s: float,
    cfg: SimConfig,
    periodic: bool,
) -> np.ndarray:
    """Probability of each order to anchor a driver, so that the expected online fleet is
    proportional to the demand's workload: the trip time of the orders requested in each
    15-minute slot, averaged over ``SMOOTH_SLOTS`` slots.

    A driver anchored in slot i starts there and is online in slot j ≥ i while its shift lasts,
    with probability P(L > j − i); the expected online fleet is the anchor density convolved
    with that survival curve. The anchor density per slot is the non-negative least-squares
    solution that makes the convolution equal the workload, each slot's error relative to its
    own workload (so the quiet hours after midnight count as much as the evening peak); each
    slot's share is split evenly among its orders. Shifts last hours, so the fleet cannot fall
    as fast as demand does late in the evening: the fit leaves the last evening hours short of
    drivers and the first hours after midnight with some to spare (docs/simulation.md, Shifts).
    ``periodic`` (whole day, shifts carried over midnight): the curve and the shifts wrap
    around midnight.
    """
    n_slots = max(1, int(np.ceil((end_s - start_s) / SLOT_S - 1e-9)))
    slot = np.clip(((t_request - start_s) // SLOT_S).astype(np.int64), 0, n_slots - 1)
    count = np.bincount(slot, minlength=n_slots).astype(np.float64)
    workload = np.bincount(slot, weights=trip_s, minlength=n_slots)
    target = _moving_average(workload, SMOOTH_SLOTS, periodic)
    # relative least squares: a slot's shortfall or excess counts against its own demand
    scale = 1.0 / np.maximum(target, target.max() * 1e-3 + 1e-12)
    kernel = _cover_kernel(n_slots, cfg, periodic) * scale[:, None]
    try:
        q, _ = nnls(kernel, target * scale, maxiter=50 * n_slots)
    except RuntimeError:  # no convergence within maxiter: anchor to every order alike
        q = np.zeros(n_slots)
    per_order = np.divide(q, count, out=np.zeros(n_slots), where=count > 0)[slot]
    total = per_order.sum()
    if not total > 0:  # nothing to fit (a single slot, say): every order alike
        return np.full(t_request.size, 1.0 / t_request.size)
    return per_order / total


def _cover_kernel(n_slots: int, cfg: SimConfig, periodic: bool) -> np.ndarray:
    """K[j, i]: probability that a driver anchored in slot i is online in slot j."""
    u = (np.arange(LENGTH_POINTS) + 0.5) / LENGTH_POINTS
    from scipy.stats import norm  # noqa: PLC0415  (scipy.stats is slow to import)

    length = np.clip(cfg.shift_mean_h + cfg.shift_std_h * norm.ppf(u), 1.0, 16.0) * 3600.0
    lag = (np.arange(n_slots)[:, None] - np.arange(n_slots)[None, :]) * SLOT_S
    if periodic:
        lag = np.mod(lag, n_slots * SLOT_S)
    return np.where(lag[..., None] >= 0, lag[..., None] < length, False).mean(axis=-1)


def _moving_average(x: np.ndarray, width: int, periodic: bool) -> np.ndarray:
    """Centred moving average over ``width`` points: around the circle when ``periodic``,
    else over the points of each window that exist."""
    offsets = np.arange(width) - width // 2
    idx = np.arange(x.size)[:, None] + offsets[None, :]
    if periodic:
        return x[idx % x.size].mean(axis=1)
    inside = (idx >= 0) & (idx < x.size)
    return np.where(inside, x[np.clip(idx, 0, x.size - 1)], 0.0).sum(axis=1) / inside.sum(axis=1)
