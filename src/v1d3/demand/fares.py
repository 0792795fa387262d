"""Fare rules.

The 2018 New York City yellow-cab meter (TLC rate code 1): $2.50 on entry, plus $0.50 per 1/5 mile
while the cab moves faster than 12 mph, or per 60 seconds while it is slower or stopped, plus the
$0.50 MTA tax and the $0.30 improvement surcharge (tolls and tips aside). With a trip driven at one
mean speed ``v`` over distance ``d`` in time ``T``::

    units = floor(d / 321.87 m)   if v > 12 mph (5.364 m/s)
            floor(T / 60 s)       otherwise
    fare  = 2.50 + 0.50 * units + 0.50 + 0.30

so long and slow trips pay as they did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NYCMeter2018", "DistanceTimeFare"]

MILE_M = 1609.344


@dataclass(frozen=True)
class NYCMeter2018:
    """The 2018 NYC yellow-cab meter (dollars)."""

    entry: float = 2.50
    """Flag drop, dollars."""
    unit: float = 0.50
    """Price of one distance or time unit, dollars."""
    unit_m: float = MILE_M / 5
    """Distance unit, metres (1/5 mile)."""
    unit_s: float = 60.0
    """Time unit while slow, seconds."""
    slow_mps: float = 12 * MILE_M / 3600
    """Threshold speed (12 mph) in metres per second."""
    surcharges: float = 0.50 + 0.30
    """MTA tax plus improvement surcharge, dollars."""

    def __call__(self, trip_m: np.ndarray, trip_s: np.ndarray) -> np.ndarray:
        trip_m = np.asarray(trip_m, dtype=np.float64)
        trip_s = np.asarray(trip_s, dtype=np.float64)
        speed = trip_m / np.maximum(trip_s, 1e-9)
        units = np.where(
            speed > self.slow_mps, np.floor(trip_m / self.unit_m), np.floor(trip_s / self.unit_s)
        )
        return self.entry + self.unit * units + self.surcharges


@dataclass(frozen=True)
class DistanceTimeFare:
    """A base fare plus a price per kilometre and per minute (synthetic cities)."""

    base: float = 2.5
    per_km: float = 1.2
    per_min: float = 0.3

    def __call__(self, trip_m: np.ndarray, trip_s: np.ndarray) -> np.ndarray:
        return (
            self.base
            + self.per_km * np.asarray(trip_m) / 1000
            + self.per_min * np.asarray(trip_s) / 60
        )
