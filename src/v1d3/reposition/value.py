"""Repositioning from a state-value function (docs/method.md §4).

A driver due for repositioning samples a destination ``k`` among its own cell (always a
candidate: staying) and the cells within ``k_ring`` neighbour steps, with

    P(k) ∝ exp(beta · gamma^dt_k · V(k, t + dt_k)),   dt_k = driving time between cell centres.

Sampling rather than arg-max keeps idle drivers from piling into one hot cell; an optional cap
limits how many drivers one call sends to the same destination.

The value is an average over the days the function learned from; it does not see how many
drivers wait at a cell now. With ``wait = "forecast"`` each destination's score also pays for
the expected wait for an order there (docs/method.md §4.1): the drivers ahead in the cell's
catchment (its ``catchment_ring`` disk: available drivers, those heading there, and the
batch's drivers already sent there), less the orders waiting there, divided by the forecast
rate of departures from the catchment. A positive score ``s`` becomes ``gamma^w · s``: the
value is earned ``w`` later. The batch's drivers choose one after another in a random order,
each seeing where the earlier ones went.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from v1d3.demand.forecast import (
    DEFAULT_FORECAST_DAYS,
    FORECAST_SLOT_S,
    HISTORY_DAYS,
    DepartureForecast,
)
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.geo.city import City
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import DayContext
from v1d3.value.base import ValueFunction

__all__ = ["WaitModel", "ValueRepositionConfig", "ValueReposition"]

WaitModel = Literal["auto", "forecast", "off"]


@dataclass(frozen=True)
class ValueRepositionConfig:
    """How :class:`ValueReposition` scores and samples destinations."""

    k_ring: int = 5
    """Candidate destinations: cells within this many neighbour steps (H3 k-ring; 5 at
    resolution 8 reaches about 4 km). How 5 was chosen: docs/results/tuning.md §4; with the
    wait model 8 did better (§9)."""
    beta: float = 3.0
    """Inverse temperature of the sampling, per currency unit of value (0 = uniform; large =
    arg-max). 3 per dollar: values differ by a few dollars between nearby cells
    (docs/results/tuning.md §4)."""
    cap: int | None = None
    """Most drivers sent to one destination cell per call (None = no cap; staying is never
    capped)."""
    wait: WaitModel = "off"
    """``forecast``: discount each destination by the expected wait for an order there, from the
    drivers ahead and the departures forecast from historical days; ``off``: the value alone
    (the paper's rule, the default until the studies measure the wait model against it:
    docs/results/tuning.md §9); ``auto``: ``forecast`` where the scenario has historical days,
    else ``off`` (a replayed real date)."""
    catchment_ring: int = 2
    """The cells whose drivers and orders compete with a destination's: within this many
    neighbour steps of it (2 at H3 resolution 8: about 1.5 km, a usual pickup;
    docs/results/tuning.md §9)."""
    max_wait_s: float = 1800.0
    """Longest expected wait counted, seconds (a catchment with drivers ahead and no forecast
    demand waits this long)."""
    forecast_days: int = DEFAULT_FORECAST_DAYS
    """Historical days averaged for the forecast (1 .. ``v1d3.demand.forecast.HISTORY_DAYS``)."""

    def __post_init__(self) -> None:
        check_fields(self, "value reposition")
        if self.k_ring < 0:
            raise ConfigError(f"k_ring must be >= 0, got {self.k_ring}")
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}")
        if self.cap is not None and self.cap < 1:
            raise ConfigError(f"cap must be >= 1 or None, got {self.cap}")
        if self.catchment_ring < 0:
            raise ConfigError(f"catchment_ring must be >= 0, got {self.catchment_ring}")
        if not 0 < self.max_wait_s < np.inf:
            raise ConfigError(
                f"max_wait_s must be a finite number of seconds > 0, got {self.max_wait_s}"
            )
        if not 1 <= self.forecast_days <= HISTORY_DAYS:
            raise ConfigError(f"forecast_days must be 1..{HISTORY_DAYS}, got {self.forecast_days}")


class ValueReposition(RepositionPolicy):
    """Samples destinations ∝ ``exp(beta · gamma^dt · V)`` over the driver's cell and k-ring.

    Works with any :class:`~v1d3.value.base.ValueFunction`; pass the dispatch policy's own
    function to share it (it is bound once per day, by whichever policy resets first).
    """

    name = "value"

    def __init__(
        self,
        value: ValueFunction,
        config: ValueRepositionConfig | None = None,
        forecast: DepartureForecast | Callable[[], DepartureForecast] | None = None,
    ) -> None:
        self.value = value
        self.config = cfg = config if config is not None else ValueRepositionConfig()
        if cfg.wait == "forecast" and forecast is None:
            raise ConfigError(
                "reposition 'value': wait=forecast needs historical days to forecast from "
                "(this scenario replays one real date); use wait=off"
            )
        self._source = forecast if cfg.wait != "off" else None

    @property
    def wait_model(self) -> str:
        """The wait model in use: ``forecast`` or ``off`` (``auto`` resolved)."""
        return "off" if self._source is None else "forecast"

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        city = context.city
        v = self.value
        if getattr(v, "city", None) is not city or getattr(v, "weekday", None) != context.weekday:
            v.bind(city, context.weekday)
        self._disk = _disk_table(city, self.config.k_ring)
        zone = city.cell_zone if city.cell_zone is not None else np.full(city.n_cells, -1)
        self._zone = np.asarray(zone, dtype=np.int64)
        self._forecast: DepartureForecast | None = None
        if self._source is not None:
            f = self._source if isinstance(self._source, DepartureForecast) else self._source()
            if f.counts.shape[1] != city.n_cells:
                raise ConfigError(
                    f"reposition 'value': the forecast has {f.counts.shape[1]} cells, the city "
                    f"{city.n_cells}"
                )
            self._forecast = f
            self._catch = _disk_table(city, self.config.catchment_ring)

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
        if self._forecast is not None:
            return self._one_by_one(batch, cand, s)
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

    def expected_wait(self, batch: RepositionBatch) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: drivers ahead in its catchment now (available, or heading there) less the
        orders waiting there, and the forecast departures from it per second."""
        assert self._forecast is not None
        supply = batch.idle_by_cell if batch.supply_by_cell is None else batch.supply_by_cell
        ahead = np.asarray(supply, np.float64).copy()
        if batch.waiting_by_cell is not None:
            ahead -= batch.waiting_by_cell
        t0 = batch.t
        rate = self._forecast.departures(t0, t0 + FORECAST_SLOT_S) / FORECAST_SLOT_S
        return _catchment_sum(self._catch, ahead), _catchment_sum(self._catch, rate)

    def _one_by_one(self, batch: RepositionBatch, cand: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Each driver in a random order samples from its scores less the expected wait at each
        destination, counting the drivers sent before it (and the cap, if any)."""
        cfg, rng = self.config, self.context.rng
        ahead, rate = self.expected_wait(batch)
        discount = self.value.discount
        n_cells = self.context.city.n_cells
        sent = np.zeros(n_cells, dtype=np.int64)
        dest = np.asarray(batch.cell, dtype=np.int64).copy()
        for i in rng.permutation(len(batch)):
            ok = cand[i] >= 0
            c = cand[i][ok]
            own = c == dest[i]
            # the driver joins a catchment it is not in yet (its own cell's, and its
            # neighbours' within the catchment ring, count it already)
            queue = ahead[c] + ~np.isin(c, self._catch[dest[i]])
            w = np.clip(queue / np.maximum(rate[c], 1e-12), 0.0, cfg.max_wait_s)
            si = s[i][ok]
            si = si - (1.0 - discount.factor(w)) * np.maximum(si, 0.0)
            logits = cfg.beta * si
            p = np.exp(logits - logits.max())
            if cfg.cap is not None:
                p[(sent[c] >= cfg.cap) & ~own] = 0.0
            k = int(c[_sample_rows(p[None, :], rng)[0]])
            if k != dest[i]:
                sent[k] += 1
                near_old, near_new = self._catch[dest[i]], self._catch[k]
                ahead[near_old[near_old >= 0]] -= 1
                ahead[near_new[near_new >= 0]] += 1
                dest[i] = k
        return dest


def _disk_table(city: City, k: int) -> np.ndarray:
    """Each cell's disk of ``k`` neighbour steps as rows padded with -1, the cell itself first."""
    disks = city.disk(np.arange(city.n_cells), k)
    width = max(len(d) for d in disks)
    table = np.full((len(disks), width), -1, dtype=np.int64)
    for i, d in enumerate(disks):
        table[i, : len(d)] = d
    return table


def _catchment_sum(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``out[j] = Σ x[i]`` over the cells ``i`` of row ``j`` of a disk table."""
    ok = table >= 0
    return np.where(ok, np.asarray(x, np.float64)[np.where(ok, table, 0)], 0.0).sum(axis=1)


def _sample_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row, drawn ∝ the row's non-negative weights (column 0 if all 0)."""
    cum = np.cumsum(p, axis=1)
    total = cum[:, -1:]
    u = rng.random((p.shape[0], 1)) * total
    pick = (cum <= u).sum(axis=1)
    pick = np.minimum(pick, p.shape[1] - 1)
    return np.where(total[:, 0] > 0, pick, 0)
