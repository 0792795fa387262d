"""The repositioning decision contract: eligible idle drivers in, destination cells out.

A managed driver idle for longer than ``SimConfig.reposition_after_s`` is offered to the policy,
which answers one destination cell per driver. Answering the driver's own cell means "stay": the
driver waits another ``reposition_after_s`` before it is offered again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from v1d3.rounds import DayContext, RunReport

__all__ = ["RepositionBatch", "RepositionPolicy"]


@dataclass(frozen=True, eq=False)
class RepositionBatch:
    """Drivers due for a repositioning decision, plus city-wide context of the last minutes."""

    t: float
    """Simulated clock, seconds after midnight."""
    weekday: int
    driver: np.ndarray
    """Driver ids."""
    lat: np.ndarray
    lng: np.ndarray
    cell: np.ndarray
    """Dense cell index of each driver."""
    idle_s: np.ndarray
    """How long each driver has been idle, seconds."""
    unserved_by_cell: np.ndarray = field(repr=False)
    """Orders lost (expired unmatched) per cell over the last 30 minutes, shape (n_cells,)."""
    idle_by_cell: np.ndarray = field(repr=False)
    """Available drivers per cell now, shape (n_cells,)."""
    waiting_by_cell: np.ndarray | None = field(default=None, repr=False)
    """Orders waiting for a match now per cell of origin, shape (n_cells,); None where the
    caller does not observe them (a KDD Cup observation)."""
    supply_by_cell: np.ndarray | None = field(default=None, repr=False)
    """Available drivers per cell where they will next be idle: an idle driver at its cell, a
    repositioning one at its destination, shape (n_cells,); None: not observed (use
    ``idle_by_cell``)."""

    def __len__(self) -> int:
        return len(self.driver)


class RepositionPolicy(RunReport, ABC):
    """Chooses a destination cell for each driver due for repositioning."""

    name: ClassVar[str] = "custom"

    def reset(self, context: DayContext) -> None:
        """Called once before each simulated day; keeps the context (city, rng)."""
        self.context = context

    @abstractmethod
    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        """Return one dense destination cell index per driver (its own cell = stay)."""
