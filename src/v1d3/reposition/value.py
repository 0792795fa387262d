"""Repositioning from a state-value function (docs/method.md §4).

A driver due for repositioning samples a destination ``k`` among its own cell (always a
candidate: staying) and the cells within ``k_ring`` neighbour steps, with

    P(k) ∝ exp(beta · gamma^dt_k · V(k, t + dt_k)),   dt_k = driving time between cell centres.

Sampling rather than arg-max keeps idle drivers from piling into one hot cell; an optional cap
limits how many drivers one call sends to the same destination.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import DayContext
from v1d3.value.base import ValueFunction

__all__ = ["ValueRepositionConfig", "ValueReposition"]


@dataclass(frozen=True)
class ValueRepositionConfig:
    """How :class:`ValueReposition` scores and samples destinations."""

    k_ring: int = 5
    """Candidate destinations: cells within this many neighbour steps (H3 k-ring; 5 at
    resolution 8 reaches about 4 km). How 5 was chosen: docs/results/tuning.md §4."""
    beta: float = 3.0
    """Inverse temperature of the sampling, per currency unit of value (0 = uniform; large =
    arg-max). 3 per dollar: values differ by a few dollars between nearby cells
    (docs/results/tuning.md §4)."""
    cap: int | None = None
    """Most drivers sent to one destination cell per call (None = no cap; staying is never
    capped)."""

    def __post_init__(self) -> None:
        check_fields(self, "value reposition")
        if self.k_ring < 0:
            raise ConfigError(f"k_ring must be >= 0, got {self.k_ring}")
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}")
        if self.cap is not None and self.cap < 1:
            raise ConfigError(f"cap must be >= 1 or None, got {self.cap}")


class ValueReposition(RepositionPolicy):
    """Samples destinations ∝ ``exp(beta · gamma^dt · V)`` over the driver's cell and k-ring.

    Works with any :class:`~v1d3.value.base.ValueFunction`; pass the dispatch policy's own
    function to share it (it is bound once per day, by whichever policy resets first).
    """

    name = "value"

    def __init__(self, value: ValueFunction, config: ValueRepositionConfig | None = None) -> None:
        self.value = value
        self.config = config if config is not None else ValueRepositionConfig()

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        city = context.city
        v = self.value
        if getattr(v, "city", None) is not city or getattr(v, "weekday", None) != context.weekday:
            v.bind(city, context.weekday)
        disks = city.disk(np.arange(city.n_cells), self.config.k_ring)
        width = max(len(d) for d in disks)
        table = np.full((len(disks), width), -1, dtype=np.int64)
        for i, d in enumerate(disks):
            table[i, : len(d)] = d  # own cell first
        self._disk = table
        zone = city.cell_zone if city.cell_zone is not None else np.full(city.n_cells, -1)
        self._zone = np.asarray(zone, dtype=np.int64)

    def scores(self, batch: RepositionBatch) -> tuple[np.ndarray, np.ndarray]:
        """Candidate cells ``(n, m)`` (-1 = none) and their scores ``gamma^dt V`` (−inf = none)."""
        city = self.context.city
        cand = self._disk[batch.cell]
        ok = cand >= 0
        c = np.where(ok, cand, 0)
        src = np.broadcast_to(np.asarray(batch.cell, dtype=np.int64)[:, None], c.shape)
        dt = city.travel.time_s(
            city.cell_x[src],
            city.cell_y[src],
            city.cell_x[c],
            city.cell_y[c],
            self._zone[src],
            self._zone[c],
            batch.t,
        )
        dt = np.where(c == src, 0.0, dt)
        v = self.value.value(c, city.cell_lat[c], city.cell_lng[c], batch.t + dt)
        s = self.value.discount.factor(dt) * v
        return np.where(ok, cand, -1), np.where(ok, s, -np.inf)

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        n = len(batch)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        cand, s = self.scores(batch)
        logits = self.config.beta * s
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)  # exp(-inf) = 0 for missing candidates
        rng = self.context.rng
        pick = _sample_rows(p, rng)
        dest = cand[np.arange(n), pick]
        cap = self.config.cap
        if cap is None:
            return dest
        # cap: send the excess of over-full destinations again, without the full ones
        moving = dest != batch.cell
        for _ in range(self.context.city.n_cells):  # each pass fills a new destination
            count = np.bincount(dest[moving], minlength=self.context.city.n_cells)
            full = count >= cap
            over = np.flatnonzero(count > cap)
            if over.size == 0:
                break
            idx = np.flatnonzero(moving & np.isin(dest, over))
            idx = idx[rng.permutation(idx.size)]
            # keep the first `cap` drivers of each over-full destination
            srt = idx[np.argsort(dest[idx], kind="stable")]
            d = dest[srt]
            start = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
            rank = np.arange(d.size) - np.repeat(start, np.diff(np.r_[start, d.size]))
            redo = srt[rank >= cap]
            # drivers to re-sample may not pick a full destination (staying always allowed)
            pr = p[redo].copy()
            blocked = full[np.maximum(cand[redo], 0)] & (cand[redo] >= 0)
            blocked &= cand[redo] != batch.cell[redo][:, None]
            pr[blocked] = 0.0
            dest[redo] = cand[redo, _sample_rows(pr, rng)]
            moving[redo] = dest[redo] != batch.cell[redo]
        return dest


def _sample_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row, drawn ∝ the row's non-negative weights (column 0 if all 0)."""
    cum = np.cumsum(p, axis=1)
    total = cum[:, -1:]
    u = rng.random((p.shape[0], 1)) * total
    pick = (cum <= u).sum(axis=1)
    pick = np.minimum(pick, p.shape[1] - 1)
    return np.where(total[:, 0] > 0, pick, 0)
