"""Value functions stored in one flat numpy table.

:class:`TableValue` is the common shape: ``V(s) = Σ_j w_j(s) θ[idx_j(s)]`` over a few active
entries of a flat parameter array ``θ`` (``table``). Learners move ``V(s)`` by a given amount with
:meth:`TableValue.add`, which spreads the step over the active entries (normalised least mean
squares), so one update law serves every table:

- :class:`TabularValue`: ``V(cell, time bucket)``, optionally one table per weekday (Xu et al.
  2018, docs/method.md §6);
- :class:`LocationValue`: ``V(cell)`` only, for online learning (docs/method.md §10: a table indexed
  by time and started at zero reads 0 for every future bucket during the day);
- :class:`~v1d3.value.tile.TileCodedValue`: the KDD Cup 2020 champion's tile coding.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch

from v1d3.errors import ConfigError, ModelError
from v1d3.geo.city import City
from v1d3.sim.config import DAY_S
from v1d3.value.base import Discount, ValueFunction
from v1d3.value.checkpoint import city_digest, load_checkpoint, save_checkpoint

__all__ = ["TableValue", "TabularValue", "LocationValue"]


class TableValue(ValueFunction):
    """A value function that is a weighted sum of entries of one flat array ``table``."""

    table: np.ndarray
    """The parameters, float64, one dimension (subclasses may keep shaped views of it)."""
    time_dependent: bool = False
    """Whether values change with the time of day (other than dropping to 0 at ``end_s``)."""

    @abstractmethod
    def active(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Active entries of 1-D states: indices into ``table`` and weights, both ``(n, m)``."""

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        """Values of the states, one per entry (arrays broadcast together)."""
        c, a, g, t = (np.asarray(x) for x in (cell, lat, lng, t_s))
        if not (c.ndim == a.ndim == g.ndim == t.ndim == 1 and c.size == a.size == g.size == t.size):
            full = np.broadcast_arrays(c, a, g, t)
            c, a, g, t = (x.ravel() for x in full)
            return self.read(*self.active(c, a, g, t)).reshape(full[0].shape)
        return self.read(*self.active(c, a, g, t))

    def read(self, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Values of states given by their active entries (from :meth:`active`)."""
        return (self.table[idx] * w).sum(axis=1)

    def add(
        self,
        cell: np.ndarray,
        lat: np.ndarray,
        lng: np.ndarray,
        t_s: np.ndarray,
        delta: np.ndarray,
    ) -> None:
        """Move ``V`` of each state by ``delta`` (steps of states sharing entries add up).

        Entry ``j`` of a state moves by ``delta · w_j / Σ_k w_k²``: for a lone state ``V``
        changes by exactly ``delta``; states past the end of the day (all weights 0) stay.
        """
        c, a, g, t, d = np.broadcast_arrays(cell, lat, lng, t_s, delta)
        idx, w = self.active(c.ravel(), a.ravel(), g.ravel(), t.ravel())
        self.write(idx, w, d.ravel())

    def write(self, idx: np.ndarray, w: np.ndarray, delta: np.ndarray) -> None:
        """:meth:`add` for states given by their active entries (from :meth:`active`)."""
        norm = (w * w).sum(axis=1, keepdims=True)
        step = np.divide(w, norm, out=np.zeros(w.shape), where=norm > 0)
        step *= np.asarray(delta, dtype=np.float64).reshape(-1, 1)
        np.add.at(self.table, idx.ravel(), step.ravel())

    def fill(self, v: float = 0.0) -> None:
        """Set every entry to ``v`` (a daily reset)."""
        self.table[:] = v


class TabularValue(TableValue):
    """``V(cell, time bucket)`` for one city, optionally one table per weekday.

    States at or after ``end_s`` are worth 0. Before :meth:`bind` (or without per-weekday tables)
    the Monday/pooled table is read.
    """

    time_dependent = True

    def __init__(
        self,
        n_cells: int,
        bucket_s: float = 600.0,
        discount: Discount | None = None,
        end_s: float = DAY_S,
        per_weekday: bool = False,
        cells_digest: str | None = None,
    ) -> None:
        """``n_cells`` dense cells; ``bucket_s`` bucket length, seconds; ``end_s`` end of the day,
        seconds after midnight; ``cells_digest`` (see :func:`~v1d3.value.checkpoint.city_digest`)
        makes :meth:`bind` refuse a different city."""
        if n_cells <= 0:
            raise ConfigError(f"tabular value: n_cells must be > 0, got {n_cells}")
        if not (0 < bucket_s < math.inf and 0 < end_s < math.inf):
            raise ConfigError(
                f"tabular value: bucket_s and end_s must be finite and > 0 seconds, got "
                f"{bucket_s} and {end_s}"
            )
        self.n_cells = int(n_cells)
        self.bucket_s = float(bucket_s)
        self.discount = discount if discount is not None else Discount()
        self.end_s = float(end_s)
        self.per_weekday = bool(per_weekday)
        self.cells_digest = cells_digest
        self.n_buckets = int(np.ceil(self.end_s / self.bucket_s - 1e-9))
        self.n_tables = 7 if self.per_weekday else 1
        size = self.n_tables * self.n_buckets * self.n_cells
        self.table = np.zeros(size, dtype=np.float64)
        self.counts = np.zeros(size, dtype=np.int64)
        """Transitions seen per state by the offline learner."""
        self.weekday = 0

    @property
    def values(self) -> np.ndarray:
        """The table as ``(tables, buckets, cells)`` (a view)."""
        return self.table.reshape(self.n_tables, self.n_buckets, self.n_cells)

    def bind(self, city: City, weekday: int) -> None:
        """Prepare for a day; refuses a city with other cells than the table's."""
        if city.n_cells != self.n_cells:
            raise ModelError(
                f"tabular value has {self.n_cells} cells but the city {city.name!r} has "
                f"{city.n_cells}; train it on this scenario"
            )
        if self.cells_digest is not None and city_digest(city) != self.cells_digest:
            raise ModelError(
                f"tabular value was trained on other cells than the city {city.name!r}'s"
            )
        super().bind(city, weekday)

    def flat_index(
        self, cell: np.ndarray, t_s: np.ndarray, weekday: np.ndarray | int | None = None
    ) -> np.ndarray:
        """Flat table index of states (times clipped into the day; weekday None = bound one)."""
        wd = self.weekday if weekday is None else weekday
        w = np.asarray(wd, dtype=np.int64) if self.per_weekday else 0
        b = np.clip(
            np.floor(np.asarray(t_s, dtype=np.float64) / self.bucket_s), 0, self.n_buckets - 1
        ).astype(np.int64)
        return (w * self.n_buckets + b) * self.n_cells + np.asarray(cell, dtype=np.int64)

    def active(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One entry per state; weight 0 at or after ``end_s``."""
        idx = self.flat_index(cell, t_s)[:, None]
        w = (np.asarray(t_s) < self.end_s).astype(np.float64)[:, None]
        return idx, w

    # -- checkpoints

    def state_dict(self) -> dict[str, Any]:
        """The table and its shape, as a checkpoint state (tensors and plain values)."""
        return {
            "table": torch.from_numpy(self.values.copy()),
            "counts": torch.from_numpy(self.counts.reshape(self.values.shape).copy()),
            "bucket_s": self.bucket_s,
            "end_s": self.end_s,
            "per_weekday": self.per_weekday,
            "cells_digest": self.cells_digest,
            "gamma": self.discount.gamma,
            "time_unit_s": self.discount.time_unit_s,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> TabularValue:
        """Rebuild a table saved with :meth:`state_dict`."""
        try:
            table = state["table"].numpy()
            v = cls(
                n_cells=table.shape[2],
                bucket_s=float(state["bucket_s"]),
                discount=Discount(float(state["gamma"]), float(state["time_unit_s"])),
                end_s=float(state["end_s"]),
                per_weekday=bool(state["per_weekday"]),
                cells_digest=state.get("cells_digest"),
            )
            v.values[...] = table
            v.counts[:] = state["counts"].numpy().ravel()
        except (KeyError, AttributeError, ValueError, IndexError) as e:
            raise ModelError(f"tabular checkpoint state is malformed ({e})") from None
        return v

    def save(
        self,
        path: Path,
        scenario: str | None = None,
        h3_resolution: int | None = None,
        method: str = "tabular-td",
        **meta: Any,
    ) -> Path:
        """Write a checkpoint (atomically) with the table and its metadata."""
        info = {
            "method": method,
            "scenario": scenario,
            "h3_resolution": h3_resolution,
            "gamma": self.discount.gamma,
            "time_unit_s": self.discount.time_unit_s,
            "bucket_s": self.bucket_s,
            **meta,
        }
        save_checkpoint(path, self.state_dict(), info)
        return Path(path)

    @classmethod
    def load(
        cls, path: Path, scenario: Any = None, expect_method: str | None = "tabular-td"
    ) -> TabularValue:
        """Read a checkpoint written by :meth:`save` (``scenario``: a ``ScenarioConfig`` to
        check it against)."""
        state, _ = load_checkpoint(path, expect_method=expect_method, scenario=scenario)
        return cls.from_state_dict(state)


class LocationValue(TableValue):
    """``V(cell)``, the same at every time of day; 0 at or after ``end_s``."""

    def __init__(
        self, n_cells: int, discount: Discount | None = None, end_s: float = np.inf
    ) -> None:
        """``n_cells`` dense cells; ``end_s`` end of the day, seconds after midnight."""
        if n_cells <= 0:
            raise ConfigError(f"location value: n_cells must be > 0, got {n_cells}")
        self.n_cells = int(n_cells)
        self.discount = discount if discount is not None else Discount()
        self.end_s = float(end_s)
        self.table = np.zeros(self.n_cells, dtype=np.float64)

    def bind(self, city: City, weekday: int) -> None:
        """Prepare for a day; refuses a city with another number of cells."""
        if city.n_cells != self.n_cells:
            raise ModelError(
                f"location value has {self.n_cells} cells but the city {city.name!r} has "
                f"{city.n_cells}"
            )
        super().bind(city, weekday)

    def active(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One entry per state (its cell); weight 0 at or after ``end_s``."""
        w = (np.asarray(t_s) < self.end_s).astype(np.float64)[:, None]
        return np.asarray(cell, dtype=np.int64)[:, None], w
