"""Travel-time models: how long a drive between two points takes.

All models work on projected coordinates in metres (see
:class:`v1d3.geo.projection.LocalProjection`)
so that the dispatch hot path never converts back to degrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = ["TravelModel", "ConstantSpeed", "ZoneSpeedTable", "TravelFactor", "ScaledTravel"]


class TravelModel(Protocol):
    """Road distance and driving time between points, possibly by zone and time of day."""

    def road_m(self, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
        """Driving distance in metres between projected points."""
        ...

    def time_s(
        self,
        x1: np.ndarray,
        y1: np.ndarray,
        x2: np.ndarray,
        y2: np.ndarray,
        zone1: np.ndarray,
        zone2: np.ndarray,
        t_s: float,
    ) -> np.ndarray:
        """Driving time in seconds, leaving at ``t_s`` seconds after midnight."""
        ...


@dataclass(frozen=True)
class ConstantSpeed:
    """Straight-line distance times a detour factor, driven at one speed (KDD Cup 2020: 3 m/s)."""

    speed_mps: float = 3.0
    """Driving speed in metres per second."""
    detour: float = 1.0
    """Road distance / straight-line distance (dimensionless, ≥ 1)."""

    def road_m(self, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
        return np.hypot(x2 - x1, y2 - y1) * self.detour

    def time_s(self, x1, y1, x2, y2, zone1, zone2, t_s):  # type: ignore[no-untyped-def]
        return self.road_m(x1, y1, x2, y2) / self.speed_mps


@dataclass(frozen=True, eq=False)
class ZoneSpeedTable:
    """Manhattan-style travel: city-block distance on a rotated street grid, zone-to-zone speeds.

    The road distance is the L1 distance in a frame rotated by ``grid_angle_deg`` (Manhattan's
    avenues run about 29° east of true north). The speed is the observed mean speed from the
    pick-up zone to the drop-off zone in the 15-minute slot of the departure time.
    """

    speed_mps: np.ndarray = field(repr=False)
    """Mean speeds, shape (slots, zones, zones), metres per second."""
    grid_angle_deg: float = 29.0
    """Rotation of the street grid against true north, degrees."""
    slot_s: float = 900.0
    """Length of one speed slot, seconds."""
    min_speed_mps: float = 0.447
    """Lower clip of any speed (1 mph), metres per second."""

    def __post_init__(self) -> None:
        a = np.deg2rad(self.grid_angle_deg)
        object.__setattr__(self, "_cos", float(np.cos(a)))
        object.__setattr__(self, "_sin", float(np.sin(a)))
        mean = float(np.mean(self.speed_mps))
        object.__setattr__(self, "_mean_speed", mean)
        # one more row and column holding the city mean: zone -1 (unknown) indexes them
        slots, n1, n2 = self.speed_mps.shape
        padded = np.full((slots, n1 + 1, n2 + 1), max(mean, self.min_speed_mps))
        padded[:, :n1, :n2] = np.maximum(self.speed_mps, self.min_speed_mps)
        object.__setattr__(self, "_clipped", padded)

    def road_m(self, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
        dx = x2 - x1
        dy = y2 - y1
        c, s = self._cos, self._sin  # type: ignore[attr-defined]
        return np.abs(dx * c - dy * s) + np.abs(dx * s + dy * c)

    def speed(self, zone1: np.ndarray, zone2: np.ndarray, t_s: float) -> np.ndarray:
        """Mean speed (m/s) between zones at time ``t_s``; a pair with an unknown zone (-1) gets
        the city mean."""
        slot = int(t_s // self.slot_s) % self.speed_mps.shape[0]
        table = self._clipped[slot]  # type: ignore[attr-defined]
        return np.asarray(table[zone1, zone2])

    def time_s(self, x1, y1, x2, y2, zone1, zone2, t_s):  # type: ignore[no-untyped-def]
        return self.road_m(x1, y1, x2, y2) / self.speed(zone1, zone2, t_s)


@dataclass(frozen=True, eq=False)
class TravelFactor:
    """Travel times × ``factor`` while the clock is in ``[start_s, end_s)``, for legs from or to
    the zones of ``zones`` (all legs when None), or also through them when ``through``."""

    start_s: float
    """Start of the window, seconds after midnight."""
    end_s: float
    """End of the window, seconds after midnight."""
    factor: float
    """Multiplier of the travel time (dimensionless; 2 = twice as long)."""
    zones: np.ndarray | None = field(default=None, repr=False)
    """Whether each zone index is concerned, shape (zones + 1,) with False last (zone -1 indexes
    it), or None for every leg."""
    through: bool = False
    """Legs whose midpoint lies in one of the zones count too."""


@dataclass(frozen=True, eq=False)
class ScaledTravel:
    """A travel model whose times are multiplied by factors by zone and time of day (the
    shocks of :mod:`v1d3.sim.shocks`: weather speed, closures); distances are the base's."""

    base: TravelModel
    """The city's own travel model."""
    factors: tuple[TravelFactor, ...]
    """The factors; those active at a leg's departure multiply its time."""
    zone_at: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    """Zone index of projected points (metres; -1 outside every zone), for ``through``."""

    def road_m(self, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
        return self.base.road_m(x1, y1, x2, y2)

    def time_s(self, x1, y1, x2, y2, zone1, zone2, t_s):  # type: ignore[no-untyped-def]
        out = self.base.time_s(x1, y1, x2, y2, zone1, zone2, t_s)
        return out * self.factor(x1, y1, x2, y2, zone1, zone2, t_s)

    def factor(self, x1, y1, x2, y2, zone1, zone2, t_s):  # type: ignore[no-untyped-def]
        """The product of the factors active at ``t_s`` on each leg (1 where none), in the shape
        the inputs broadcast to (as the base's ``time_s``)."""
        shape = np.broadcast_shapes(*(np.shape(v) for v in (x1, y1, x2, y2, zone1, zone2)))
        f = np.ones(shape)
        for r in self.factors:
            if not r.start_s <= t_s < r.end_s:
                continue
            if r.zones is None:
                f = f * r.factor
                continue
            hit = r.zones[np.asarray(zone1)] | r.zones[np.asarray(zone2)]
            if r.through and self.zone_at is not None:
                hit = hit | r.zones[self._mid_zone(x1, y1, x2, y2, shape)]
            f = np.where(hit, f * r.factor, f)
        return f

    def _mid_zone(self, x1, y1, x2, y2, shape):  # type: ignore[no-untyped-def]
        """Zone index of each leg's midpoint, in ``shape`` (``zone_at`` takes flat arrays)."""
        assert self.zone_at is not None
        mx = np.broadcast_to((np.asarray(x1) + x2) / 2.0, shape).ravel()
        my = np.broadcast_to((np.asarray(y1) + y2) / 2.0, shape).ravel()
        return np.asarray(self.zone_at(mx, my)).reshape(shape)
