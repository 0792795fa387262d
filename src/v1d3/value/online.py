"""Value functions that learn during a simulated day, each started from an offline one.

- :class:`ResidualValue`: ``V_on(s) = V_off(s) + Δ(s)``, a coarse-coded table of corrections
  over the offline function, ``Δ = 0`` at every :meth:`~ResidualValue.bind`;
- :class:`OnlineCVNetValue`: a trainable copy of an offline CVNet, reset to its weights at every
  :meth:`~OnlineCVNetValue.bind`.

They only hold and evaluate values; the learners that update them during the day
(:class:`~v1d3.learn.online_neural.ResidualOnline`, :class:`~v1d3.learn.online_neural.NeuralOnline`)
and the ensemble steps live in :mod:`v1d3.learn.online_neural`.
"""

from __future__ import annotations

import copy

import h3
import numpy as np
import torch

from v1d3.errors import ConfigError
from v1d3.geo.city import City
from v1d3.sim.config import DAY_S
from v1d3.value.base import ValueFunction
from v1d3.value.cvnet import CVNetValue

__all__ = ["ResidualValue", "OnlineCVNetValue"]


class ResidualValue(ValueFunction):
    """``V_on(s) = V_off(s) + Δ(s)``: an online table started at the offline values (``Δ = 0``
    at every :meth:`bind`).

    ``Δ(s)`` is the sum of one entry per level: the state's own cell and, with ``parents``, its
    H3 parent at each of those coarser resolutions (coarse coding, like the offline net's
    location code): a correction learned from a few drivers is shared with the cells around
    them, and the fine level adds what is particular to one cell. ``bucket_s = None`` indexes
    ``Δ`` by location only (a correction that applies at every time of the day, including the
    future drop-off times of trips). ``Δ`` is 0 at or after ``end_s``. With ``horizon_s`` the
    correction is about the day as it is now: a state ``t_s`` later than the last learned round
    (:meth:`advance`) gets ``Δ · exp(−(t_s − now) / horizon_s)``, so a drop-off 40 minutes ahead
    is valued mostly by the offline function.
    """

    def __init__(
        self,
        offline: ValueFunction,
        bucket_s: float | None = None,
        end_s: float = DAY_S,
        parents: tuple[int, ...] = (),
        horizon_s: float | None = None,
    ) -> None:
        """``offline``: the function the day starts from; ``bucket_s``: time-bucket length of
        ``Δ``, seconds (None = one bucket); ``end_s``: end of the day, seconds after midnight;
        ``parents``: coarser H3 resolutions whose parent cells carry shared entries (skipped
        when not coarser than the city's cells, ignored on a city that is not H3);
        ``horizon_s``: time constant of the correction's fading into the future, seconds
        (None = in full at every time)."""
        if bucket_s is not None and bucket_s <= 0:
            raise ConfigError(f"residual value: bucket_s must be > 0 seconds, got {bucket_s}")
        if horizon_s is not None and not 0 < horizon_s < float("inf"):
            raise ConfigError(f"residual value: horizon_s must be > 0 seconds, got {horizon_s}")
        self.horizon_s = None if horizon_s is None else float(horizon_s)
        self.now_s = 0.0
        self.offline = offline
        self.discount = offline.discount
        self.bucket_s = None if bucket_s is None else float(bucket_s)
        self.end_s = float(end_s)
        self.n_buckets = 1 if bucket_s is None else int(np.ceil(self.end_s / bucket_s - 1e-9))
        self.parents = tuple(int(r) for r in parents)
        self.n_cells = 0
        self.table = np.zeros(0, dtype=np.float64)
        self._level_of_cell = np.zeros((1, 0), dtype=np.int64)
        self._level_size = np.zeros(1, dtype=np.int64)

    def bind(self, city: City, weekday: int) -> None:
        """Bind the offline function too, and start the day at ``Δ = 0``."""
        self.offline.bind(city, weekday)
        super().bind(city, weekday)
        self.n_cells = city.n_cells
        levels = [np.arange(city.n_cells, dtype=np.int64)]
        to_parent = h3.api.basic_int.cell_to_parent
        if city.h3_ids is not None and city.h3_resolution is not None:
            for res in self.parents:
                if not 0 <= res <= 15:
                    raise ConfigError(f"residual value: parent resolution must be 0..15, got {res}")
                if res >= city.h3_resolution:
                    continue  # not coarser than the city's own cells: nothing to share
                par = np.array([to_parent(c, res) for c in city.h3_ids.tolist()], dtype=np.uint64)
                levels.append(np.unique(par, return_inverse=True)[1].astype(np.int64).ravel())
        sizes = np.array([int(lv.max()) + 1 for lv in levels], dtype=np.int64) * self.n_buckets
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        # entry of (level, cell) in bucket 0; bucket b adds b * (level size / n_buckets)
        self._level_of_cell = np.stack([lv + off for lv, off in zip(levels, offsets, strict=True)])
        self._level_size = sizes // self.n_buckets
        self.table = np.zeros(int(sizes.sum()) + 1, dtype=np.float64)
        self.now_s = 0.0

    def advance(self, t_s: float) -> None:
        """The clock of the corrections: the time of the round they were last learned from."""
        self.now_s = float(t_s)

    @property
    def residual(self) -> np.ndarray:
        """The cell level of ``Δ`` as ``(buckets, cells)`` (a view)."""
        return self.table[: self.n_cells * self.n_buckets].reshape(self.n_buckets, self.n_cells)

    def entries(self, cell: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Flat indices of each state's ``Δ`` entries, shape ``(levels, states)``; states at or
        after ``end_s`` get the last, always-zero entry."""
        t = np.asarray(t_s, dtype=np.float64)
        idx = self._level_of_cell[:, np.asarray(cell, dtype=np.int64)]
        if self.bucket_s is not None:
            b = np.clip((t / self.bucket_s).astype(np.int64), 0, self.n_buckets - 1)
            idx = idx + b * self._level_size[:, None]
        return np.where(t < self.end_s, idx, self.table.size - 1)

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        """``V_off + Δ``."""
        c, t = np.broadcast_arrays(np.asarray(cell), np.asarray(t_s, dtype=np.float64))
        delta = self.table[self.entries(c.ravel(), t.ravel())].sum(axis=0).reshape(c.shape)
        if self.horizon_s is not None:
            delta = delta * np.exp(-np.maximum(t - self.now_s, 0.0) / self.horizon_s)
        return self.offline.value(cell, lat, lng, t_s) + delta

    def add(self, cell: np.ndarray, t_s: np.ndarray, delta: np.ndarray) -> None:
        """Every entry of every state moves by its ``delta`` (steps sharing an entry add up)."""
        c, t, d = np.broadcast_arrays(cell, t_s, delta)
        idx = self.entries(c.ravel(), t.ravel())
        w = np.broadcast_to(np.ravel(d), idx.shape)
        self.table += np.bincount(idx.ravel(), weights=w.ravel(), minlength=self.table.size)
        self.table[-1] = 0.0

    def blend(self, omega: float) -> None:
        """``V_on ← ω V_on + (1 − ω) V_off``, which is ``Δ ← ω Δ``."""
        if not 0 <= omega <= 1:
            raise ConfigError(f"omega must be in [0, 1], got {omega}")
        self.table *= omega


class OnlineCVNetValue(ValueFunction):
    """A trainable copy of an offline CVNet, evaluated by forward passes (no table).

    Every :meth:`bind` restarts from the offline weights (the day starts at ``V_off``).
    """

    def __init__(self, offline: CVNetValue) -> None:
        self.offline = offline
        self.discount = offline.discount
        self.net = copy.deepcopy(offline.net).requires_grad_(True)
        self._bags = torch.zeros((0, 1), dtype=torch.int64)

    def bind(self, city: City, weekday: int) -> None:
        """Bind, and reset the weights to the offline net's."""
        self.offline.bind(city, weekday)
        super().bind(city, weekday)
        self.net.load_state_dict(self.offline.net.state_dict())
        self._bags = torch.as_tensor(self.offline.bags)
        self._weekday = int(weekday)

    def forward(self, cell: np.ndarray, t_s: np.ndarray) -> torch.Tensor:
        """``V`` of states as a tensor (with gradients), 0 at or after midnight."""
        c = torch.as_tensor(np.asarray(cell, dtype=np.int64))
        t = torch.as_tensor(np.asarray(t_s, dtype=np.float32))
        wd = torch.full_like(c, self._weekday)
        v = self.net(self._bags[c], t, wd)
        return torch.where(t >= DAY_S, torch.zeros_like(v), v)

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        c, t = np.broadcast_arrays(np.asarray(cell), np.asarray(t_s, dtype=np.float64))
        shape = c.shape
        c, t = c.ravel(), t.ravel()
        with torch.no_grad():
            if t.size > 1 and (t == t[0]).all():
                # one time (the drivers of a round): one forward row per distinct cell
                uc, inv = np.unique(c, return_inverse=True)
                v = self.forward(uc, np.full(uc.size, t[0])).numpy()[inv]
            else:
                v = self.forward(c, t).numpy()
        return v.astype(np.float64).reshape(shape)
