"""The repositioning baselines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import DayContext

__all__ = ["Stay", "RandomNeighbour", "TowardsDemand"]


class Stay(RepositionPolicy):
    """Every driver stays where it is."""

    name = "stay"

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        return batch.cell.copy()


class RandomNeighbour(RepositionPolicy):
    """A random neighbouring cell (stay where the city ends)."""

    name = "random"

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        nb = self.context.city.neighbours[batch.cell]
        pick = nb[np.arange(len(batch)), self.context.rng.integers(0, 6, size=len(batch))]
        return np.where(pick >= 0, pick, batch.cell)


@dataclass
class TowardsDemand(RepositionPolicy):
    """Go to the nearby cell with the most recently unserved orders per idle driver.

    Candidates are the driver's cell and the cells within ``k`` rings. The score of a cell is
    ``unserved / (idle + 1)``; drivers are sent one by one and each sent driver counts as idle at
    its destination, so a crowd does not pile into one cell. A driver stays when no candidate
    scores above its own cell.
    """

    name = "demand"  # type: ignore[misc]
    k: int = 2
    """Search radius in H3 rings."""

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        disks = context.city.disk(np.arange(context.city.n_cells), self.k)
        width = max(len(d) for d in disks)
        table = np.full((len(disks), width), -1, dtype=np.int64)
        for i, d in enumerate(disks):
            table[i, : len(d)] = d
        self._disk = table

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        unserved = batch.unserved_by_cell.astype(np.float64)
        idle = batch.idle_by_cell.astype(np.float64).copy()
        out = batch.cell.copy()
        for i, c in enumerate(batch.cell.tolist()):
            cand = self._disk[c]
            cand = cand[cand >= 0]
            score = unserved[cand] / (idle[cand] + 1.0)
            j = int(np.argmax(score))
            if score[j] > score[0]:
                dest = int(cand[j])
                out[i] = dest
                idle[c] -= 1
                idle[dest] += 1
        return out
