"""Driver shifts: who is online when, and where each driver starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.sim.config import SimConfig

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
    driver online over the whole horizon.
    """
    if n <= 0:
        raise ConfigError(f"drivers must be a positive number, got {n}")
    if len(orders) == 0:
        raise ConfigError("cannot place drivers: the scenario has no orders in its horizon")
    anchor = rng.integers(0, len(orders), size=n)
    jitter = rng.normal(0.0, 150.0, size=(n, 2))  # metres, so drivers do not sit on one point
    lat = orders.o_lat[anchor] + jitter[:, 0] / 111_195.0
    lng = orders.o_lng[anchor] + jitter[:, 1] / (
        111_195.0 * np.cos(np.deg2rad(orders.o_lat[anchor]))
    )
    if cfg.shift_mean_h <= 0:
        t_on = np.full(n, start_s)
        t_off = np.full(n, end_s)
    else:
        length = np.clip(rng.normal(cfg.shift_mean_h, cfg.shift_std_h, size=n), 1.0, 16.0) * 3600
        t_on = orders.t_request[anchor] - rng.random(n) * length
        t_off = t_on + length
        t_on = np.clip(t_on, start_s, end_s)
        t_off = np.clip(t_off, start_s, end_s)
    managed = np.zeros(n, dtype=bool)
    n_managed = int(round(cfg.managed_share * n))
    managed[rng.permutation(n)[:n_managed]] = True
    return Fleet(t_on=t_on, t_off=t_off, lat=lat, lng=lng, managed=managed)
