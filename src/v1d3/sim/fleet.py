"""Driver shifts: who is online when, and where each driver starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.sim.config import DAY_S, SimConfig

__all__ = ["Fleet", "make_fleet"]


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

    Each driver is anchored to a random order of the day: it starts near that order's origin, at a
    uniformly random point of its shift before the order's request time, so the online fleet follows
    the demand curve smoothed over one shift length. Shift lengths are normal
    (``shift_mean_h`` ± ``shift_std_h``, clipped to 1–16 h); ``shift_mean_h = 0`` keeps every
    driver online over the whole horizon. Shifts are cut at the horizon, unless
    ``cfg.overnight_shifts`` and the horizon is a whole day: then the part of a shift beyond one
    end is worked at the other, by one more driver, who starts near the same order's origin.
    """
    if n <= 0:
        raise ConfigError(f"drivers must be a positive number, got {n}")
    if len(orders) == 0:
        raise ConfigError("cannot place drivers: the scenario has no orders in its horizon")
    anchor = rng.integers(0, len(orders), size=n)
    lat, lng = _near_origins(orders, anchor, rng)
    if cfg.shift_mean_h <= 0:
        t_on = np.full(n, start_s)
        t_off = np.full(n, end_s)
    else:
        length = np.clip(rng.normal(cfg.shift_mean_h, cfg.shift_std_h, size=n), 1.0, 16.0) * 3600
        t_on = orders.t_request[anchor] - rng.random(n) * length
        t_off = t_on + length
        span = end_s - start_s
        if cfg.overnight_shifts and np.isclose(span, DAY_S):
            # a shift is shorter than a day, so it crosses at most one end of the horizon
            late = np.flatnonzero(t_off > end_s)
            early = np.flatnonzero(t_on < start_s)
            extra = np.concatenate([late, early])
            t_on = np.concatenate([t_on, np.full(late.size, start_s), t_on[early] + span])
            t_off = np.concatenate([t_off, t_off[late] - span, np.full(early.size, end_s)])
            lat2, lng2 = _near_origins(orders, anchor[extra], rng)
            lat = np.concatenate([lat, lat2])
            lng = np.concatenate([lng, lng2])
            n = t_on.size
        t_on = np.clip(t_on, start_s, end_s)
        t_off = np.clip(t_off, start_s, end_s)
    managed = np.zeros(n, dtype=bool)
    n_managed = int(round(cfg.managed_share * n))
    managed[rng.permutation(n)[:n_managed]] = True
    return Fleet(t_on=t_on, t_off=t_off, lat=lat, lng=lng, managed=managed)


def _near_origins(
    orders: Orders, idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes a few hundred metres from the origins of orders ``idx`` (normal
    jitter of 150 m per axis, so that drivers do not sit on one point)."""
    jitter = rng.normal(0.0, 150.0, size=(idx.size, 2))
    lat = orders.o_lat[idx] + jitter[:, 0] / 111_195.0
    lng = orders.o_lng[idx] + jitter[:, 1] / (111_195.0 * np.cos(np.deg2rad(orders.o_lat[idx])))
    return lat, lng
