"""The round contract: what a policy knows before a day, and what it sees in and after a round.

Dispatching, repositioning and learning all speak it: a :class:`DayContext` before each simulated
day, one :class:`CandidateBatch` of (driver, order) pairs per 2-second dispatch round, and a
:class:`RoundOutcome` after the round for whoever learns online. The simulator builds them; the
policies in :mod:`v1d3.dispatch` and :mod:`v1d3.reposition` act on them and the learners in
:mod:`v1d3.learn` update value functions from them, so this module imports none of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from v1d3.demand.orders import Orders
    from v1d3.geo.city import City
    from v1d3.sim.config import SimConfig

__all__ = ["DayContext", "CandidateBatch", "RoundOutcome", "RunReport"]


@dataclass(frozen=True, eq=False)
class DayContext:
    """What a policy may know before a simulated day starts."""

    city: City
    weekday: int
    """Day of week, Monday = 0."""
    start_s: float
    """Start of the simulated horizon, seconds after midnight."""
    end_s: float
    """End of the simulated horizon, seconds after midnight."""
    sim: SimConfig
    rng: np.random.Generator = field(repr=False)
    """The policy's own random generator (a child of the run's seed)."""
    epoch_s: float = 0.0
    """Unix time of the simulated day's midnight (for KDD-style timestamps)."""
    managed: np.ndarray | None = field(default=None, repr=False)
    """Which drivers are managed by repositioning (bool per driver id)."""


class CandidateBatch:
    """One dispatch round's candidate (driver, order) pairs as parallel arrays.

    Always present: ``driver`` and ``order`` (ids), ``pickup_m`` (straight-line driver-to-origin
    distance, metres), ``pickup_s`` (driving time to the origin, seconds), ``driver_lat``,
    ``driver_lng``, ``driver_cell``. Order attributes (``fare``, ``trip_s``, ``trip_m``,
    ``origin_*``, ``dest_*``, ``t_request``) are computed on first access.
    """

    def __init__(
        self,
        t: float,
        weekday: int,
        driver: np.ndarray,
        order: np.ndarray,
        pickup_m: np.ndarray,
        pickup_s: np.ndarray,
        driver_lat: np.ndarray,
        driver_lng: np.ndarray,
        driver_cell: np.ndarray,
        orders: Orders,
        order_o_cell: np.ndarray,
        order_d_cell: np.ndarray,
    ) -> None:
        self.t = t
        """Simulated clock, seconds after midnight."""
        self.weekday = weekday
        self.driver = driver
        self.order = order
        self.pickup_m = pickup_m
        self.pickup_s = pickup_s
        self.driver_lat = driver_lat
        self.driver_lng = driver_lng
        self.driver_cell = driver_cell
        self._orders = orders
        self._o_cell = order_o_cell
        self._d_cell = order_d_cell

    def __len__(self) -> int:
        return len(self.driver)

    @cached_property
    def fare(self) -> np.ndarray:
        """Fare of the pair's order (currency units)."""
        return self._orders.fare[self.order]

    @cached_property
    def trip_s(self) -> np.ndarray:
        """Driving time of the order's trip, seconds."""
        return self._orders.trip_s[self.order]

    @cached_property
    def trip_m(self) -> np.ndarray:
        return self._orders.trip_m[self.order]

    @cached_property
    def t_request(self) -> np.ndarray:
        return self._orders.t_request[self.order]

    @cached_property
    def origin_lat(self) -> np.ndarray:
        return self._orders.o_lat[self.order]

    @cached_property
    def origin_lng(self) -> np.ndarray:
        return self._orders.o_lng[self.order]

    @cached_property
    def dest_lat(self) -> np.ndarray:
        return self._orders.d_lat[self.order]

    @cached_property
    def dest_lng(self) -> np.ndarray:
        return self._orders.d_lng[self.order]

    @cached_property
    def origin_cell(self) -> np.ndarray:
        return self._o_cell[self.order]

    @cached_property
    def dest_cell(self) -> np.ndarray:
        return self._d_cell[self.order]

    @cached_property
    def cancel_prob(self) -> np.ndarray | None:
        """Per-order cancellation curve rows (n_pairs, 10) when the data carries them."""
        cp = self._orders.cancel_prob
        return None if cp is None else cp[self.order]


@dataclass(frozen=True, eq=False)
class RoundOutcome:
    """What happened in one dispatch round, for policies that learn online."""

    batch: CandidateBatch
    selected: np.ndarray
    """Indices into the batch of the pairs the policy selected."""
    cancelled: np.ndarray
    """For each selected pair, whether the passenger cancelled (bool)."""
    idle_driver: np.ndarray
    """Drivers available in the round that did not start a trip (ids)."""
    idle_cell: np.ndarray
    idle_lat: np.ndarray
    idle_lng: np.ndarray
    dt_s: float | None = None
    """Seconds since the previous round this policy observed (rounds with no waiting order or
    no available driver are not dispatched nor observed); None means one round."""


def served_outcome(
    batch: CandidateBatch, selected: np.ndarray, dt_s: float | None = None
) -> RoundOutcome:
    """The outcome a caller that is told only the matching assumes (a KDD Cup agent outside
    V1D3, the dispatch service without an outcome): every assignment served, the other drivers
    of the round's pairs idle where they are; ``dt_s`` as :attr:`RoundOutcome.dt_s`."""
    taken = set(batch.driver[selected].tolist())
    _, first = np.unique(batch.driver, return_index=True)
    idle = np.array([i for i in first.tolist() if int(batch.driver[i]) not in taken], np.int64)
    return RoundOutcome(
        batch,
        selected,
        np.zeros(len(selected), dtype=bool),
        batch.driver[idle],
        batch.driver_cell[idle],
        batch.driver_lat[idle],
        batch.driver_lng[idle],
        dt_s,
    )


class RunReport:
    """What a policy may add to a finished run: the generic hook both decision contracts
    (:class:`~v1d3.dispatch.base.DispatchPolicy`, :class:`~v1d3.reposition.base.RepositionPolicy`)
    inherit, so that the runner needs to know no particular policy (the KDD Cup agent adapter
    reports its contained faults through it)."""

    def run_metrics(self) -> dict[str, Any]:
        """Entries this policy adds to a finished run's metrics (``metrics.json``); none here.
        A computed metric is never replaced, and the dispatch policy's entries come first."""
        return {}

    def run_meta(self) -> dict[str, Any]:
        """Entries this policy adds to a finished run's log meta (``log_meta.json``); none
        here (same rules as :meth:`run_metrics`)."""
        return {}

    def run_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Tables this policy adds to a finished run's folder, by name: equal-length columns,
        written as ``<name>.parquet`` with the rest of the folder (atomically, so never half
        written); none here. A name must be a plain word and not one of the run's own tables
        (``events``, ``orders``, ``drivers``, ``rounds``); the dispatch policy's come first and
        a name already taken is refused (``v1d3 simulate`` writes what :meth:`run_tables` gives,
        ``v1d3 evaluate`` keeps in its records those the report reads: ``corrections``)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the policy holds beyond its day (a KDD agent's process); called once
        the run is over, failed runs included, after the hooks above. Must be safe to call
        twice (a policy pair sharing one resource gets it once from each half)."""
