"""The field's two standard rebalancers (docs/method.md §11.1): ``min-cost-flow`` and
``zhang-pavone``.

Both count vehicles per zone (:class:`~v1d3.reposition.transport.Zones`) and move the surplus of
zones above their target to zones below it by a transport problem on the driving time between
zone centres; only the drivers due in the batch (managed, idle long enough) can move, the
nearest to their destination first. They differ in the target:

- ``min-cost-flow`` (MATSim DRT's ``MinCostFlowRebalancingStrategy`` with the linear target):
  ``round(alpha · D + beta)`` idle vehicles per zone, ``D`` the departures forecast from
  historical days for the rebalancing period (0 when ``D`` rounds to 0);
- ``zhang-pavone`` (Zhang & Pavone 2016, real-time rebalancing): excess vehicles (vehicles minus
  waiting customers) spread evenly, ``floor(Σ excess / zones)`` each.

Neither sees the day's future orders: the state now (available drivers, waiting orders) and,
for ``min-cost-flow``, a forecast fixed before the day starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from v1d3.demand.forecast import DEFAULT_FORECAST_DAYS, HISTORY_DAYS, DepartureForecast
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.reposition.transport import ZoneKind, Zones, nearest_first, transport
from v1d3.rounds import DayContext
from v1d3.sim.config import DAY_S

__all__ = [
    "MinCostFlowConfig",
    "MinCostFlowRebalancing",
    "ZhangPavoneConfig",
    "ZhangPavoneRebalancing",
]

_ZONE_KINDS = ("city", "cells")


@dataclass(frozen=True)
class MinCostFlowConfig:
    """How :class:`MinCostFlowRebalancing` sets its targets."""

    period_s: float = 1800.0
    """Rebalancing period, seconds: the targets are set at each multiple of it after midnight
    from the departures forecast for the next period (MATSim's default interval, 1800 s)."""
    alpha: float = 0.03
    """Target idle vehicles per forecast departure in the period (dimensionless). MATSim's
    examples use 0.5 for small DRT fleets; on a Manhattan training day the available vehicles
    are 0.03 of the half hour's forecast departures (docs/method.md §11.1), so that the targets
    add up to the vehicles there are; 0.5 would leave every zone short and move nobody."""
    beta: float = 0.5
    """Target vehicles added to every zone with forecast demand (MATSim's example: 0.5)."""
    zones: ZoneKind = "city"
    """Where vehicles are counted: ``city`` = the city's zones (Manhattan taxi zones) when it has
    them, else its cells; ``cells`` = the H3 cells."""
    forecast_days: int = DEFAULT_FORECAST_DAYS
    """Historical days averaged for the forecast (1 .. ``v1d3.demand.forecast.HISTORY_DAYS``)."""

    def __post_init__(self) -> None:
        check_fields(self, "min-cost-flow config")
        if not 60 <= self.period_s <= DAY_S:
            raise ConfigError(
                f"min-cost-flow: period_s must be in [60, {DAY_S:.0f}] s, got {self.period_s}"
            )
        if self.alpha < 0 or self.beta < 0:
            raise ConfigError("min-cost-flow: alpha and beta must be >= 0")
        if self.zones not in _ZONE_KINDS:
            raise ConfigError(f"min-cost-flow: zones must be city or cells, got {self.zones!r}")
        if not 1 <= self.forecast_days <= HISTORY_DAYS:
            raise ConfigError(
                f"min-cost-flow: forecast_days must be 1..{HISTORY_DAYS}, got {self.forecast_days}"
            )


@dataclass(frozen=True)
class ZhangPavoneConfig:
    """How :class:`ZhangPavoneRebalancing` counts."""

    zones: ZoneKind = "city"
    """Where vehicles and customers are counted (the stations of the paper): ``city`` = the
    city's zones when it has them, else its cells; ``cells`` = the H3 cells."""

    def __post_init__(self) -> None:
        check_fields(self, "zhang-pavone config")
        if self.zones not in _ZONE_KINDS:
            raise ConfigError(f"zhang-pavone: zones must be city or cells, got {self.zones!r}")


class _ZoneRebalancer(RepositionPolicy):
    """Zones per day, and the moves from a per-zone surplus (> 0) and deficit (< 0)."""

    config: MinCostFlowConfig | ZhangPavoneConfig

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        self._zones = Zones.of(context.city, self.config.zones)

    def _delta(self, batch: RepositionBatch, have: np.ndarray, want: np.ndarray) -> np.ndarray:
        """``min(have − want, movable)`` per zone: the surplus only the batch's drivers make up."""
        z = self._zones
        movable = np.bincount(z.of_cell[batch.cell], minlength=z.n)
        return np.minimum(np.asarray(have, np.int64) - np.asarray(want, np.int64), movable)

    def _moves(self, batch: RepositionBatch, delta: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """Destinations of the batch: the transport problem's flows from surplus to deficit
        zones, each zone's moves made by its drivers nearest to their destination cell
        (``anchor[zone]``); everyone else stays."""
        out = np.asarray(batch.cell, dtype=np.int64).copy()
        z, city = self._zones, self.context.city
        src, dst = np.flatnonzero(delta > 0), np.flatnonzero(delta < 0)
        if src.size == 0 or dst.size == 0:
            return out
        flow = transport(z.times(city, src, dst, batch.t), delta[src], -delta[dst])
        bx, by = city.proj.to_xy(batch.lat, batch.lng)
        bx, by = np.asarray(bx, np.float64), np.asarray(by, np.float64)
        bzone = z.of_cell[batch.cell]
        for a in np.flatnonzero(flow.sum(axis=1)):
            cells = np.repeat(anchor[dst], flow[a])
            mine = np.flatnonzero(bzone == src[a])
            pick = nearest_first(bx[mine], by[mine], city.cell_x[cells], city.cell_y[cells])
            out[mine[pick]] = cells
        return out


def _supply(batch: RepositionBatch) -> np.ndarray:
    """Vehicles per cell: idle ones, and repositioning ones at their destination when known."""
    return batch.idle_by_cell if batch.supply_by_cell is None else batch.supply_by_cell


class MinCostFlowRebalancing(_ZoneRebalancer):
    """MATSim-style min-cost-flow rebalancing to linear targets from forecast departures.

    At the start of each period the target of each zone is set and held for the period; at every
    call the zones' surplus ``min(vehicles − target, due drivers there)`` moves to the zones
    short of their target (vehicles: idle drivers and those repositioning there). A driver's
    destination is the destination zone's cell with the most forecast departures in the period.
    """

    name = "min-cost-flow"
    config: MinCostFlowConfig

    def __init__(
        self,
        forecast: DepartureForecast | Callable[[], DepartureForecast],
        config: MinCostFlowConfig | None = None,
    ) -> None:
        self.config = config if config is not None else MinCostFlowConfig()
        self._source = forecast

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        f = self._source if isinstance(self._source, DepartureForecast) else self._source()
        if f.counts.shape[1] != context.city.n_cells:
            raise ConfigError(
                f"min-cost-flow: the forecast has {f.counts.shape[1]} cells, the city "
                f"{context.city.n_cells}"
            )
        self._forecast = f
        self._period_end = -math.inf

    def targets(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Target vehicles per zone for the period holding ``t``, and each zone's destination
        cell (its most demanded; ties: the one nearest the zone's centre)."""
        p = self.config.period_s
        t0 = math.floor(t / p) * p
        dep = self._forecast.departures(t0, t0 + p)
        z, city = self._zones, self.context.city
        d = np.floor(z.count(dep) + 0.5)
        target = np.where(d > 0, np.floor(self.config.alpha * d + self.config.beta + 0.5), 0)
        off = np.hypot(city.cell_x - z.x[z.of_cell], city.cell_y - z.y[z.of_cell])
        order = np.lexsort((off, -dep, z.of_cell))
        anchor = order[np.searchsorted(z.of_cell[order], np.arange(z.n))]
        return target.astype(np.int64), anchor

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        if batch.t >= self._period_end:
            self._target, self._anchor = self.targets(batch.t)
            p = self.config.period_s
            self._period_end = (math.floor(batch.t / p) + 1) * p
        have = self._zones.count(_supply(batch))
        return self._moves(batch, self._delta(batch, have, self._target), self._anchor)


class ZhangPavoneRebalancing(_ZoneRebalancer):
    """Real-time rebalancing after Zhang & Pavone (2016): spread the excess vehicles evenly.

    At every call: excess ``e_i`` = vehicles − waiting orders in zone ``i`` (vehicles: idle
    drivers and those repositioning there), desired ``floor(Σ e / zones)`` each, and the moves
    ``x_ij`` solve ``min Σ T_ij x_ij`` s.t. ``e_i + Σ_j (x_ji − x_ij) ≥ desired`` as far as the
    due drivers allow (docs/method.md §11.1: solved as the transport problem from the zones above
    the desired count to those below). A driver's destination is the zone's centre cell.
    """

    name = "zhang-pavone"
    config: ZhangPavoneConfig

    def __init__(self, config: ZhangPavoneConfig | None = None) -> None:
        self.config = config if config is not None else ZhangPavoneConfig()

    def desired(self, batch: RepositionBatch) -> tuple[np.ndarray, int]:
        """Excess vehicles per zone and the desired count of every zone."""
        z = self._zones
        waiting = batch.waiting_by_cell
        excess = z.count(_supply(batch)).astype(np.int64)
        if waiting is not None:
            excess -= z.count(waiting).astype(np.int64)
        return excess, int(excess.sum() // z.n)

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        excess, desired = self.desired(batch)
        delta = self._delta(batch, excess, np.full(excess.size, desired))
        return self._moves(batch, delta, self._zones.centre_cell)
