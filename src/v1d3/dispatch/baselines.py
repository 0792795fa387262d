"""The dispatch baselines the field compares against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.matching import greedy_matching, max_weight_matching
from v1d3.rounds import CandidateBatch, DayContext

__all__ = ["FirstComeFirstServed", "NearestDriver", "DistanceMatching", "FareMatching"]


class FirstComeFirstServed(DispatchPolicy):
    """Each order, oldest first, takes its nearest free driver."""

    name = "fcfs"

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        prio = np.lexsort((batch.pickup_m, batch.order, batch.t_request))
        return greedy_matching(batch.order, batch.driver, prio)


class NearestDriver(DispatchPolicy):
    """Repeatedly match the closest remaining driver–order pair."""

    name = "nearest"

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return greedy_matching(batch.order, batch.driver, np.argsort(batch.pickup_m, kind="stable"))


class DistanceMatching(DispatchPolicy):
    """Batch bipartite matching minimising total pickup distance.

    It serves as many orders as it can at least total pickup distance: maximum weight with
    ``w = 2 R − pickup_m`` (R = pickup radius).
    """

    name = "distance"

    def reset(self, context: DayContext) -> None:
        self._offset = 2.0 * context.sim.pickup_radius_m

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return max_weight_matching(batch.order, batch.driver, self._offset - batch.pickup_m)


@dataclass
class FareMatching(DispatchPolicy):
    """Batch matching that maximises fare minus a pickup cost per kilometre."""

    name = "fare"  # type: ignore[misc]
    pickup_cost_per_km: float = 1.0
    """Cost charged against the fare per kilometre of pickup, currency units."""

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        w = batch.fare - self.pickup_cost_per_km * batch.pickup_m / 1000.0
        return max_weight_matching(batch.order, batch.driver, w)
