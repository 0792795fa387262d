"""Candidate search: the K nearest available drivers within the pickup radius of each order.

A KD-tree over the available drivers answers the query, but rebuilding it every 2-second round
costs more than the rest of the round when thousands of drivers are idle, and re-asking it for
every waiting order every round costs as much again when hundreds of orders wait. So
:class:`DriverIndex` keeps a tree from an earlier round and patches it:

- *dirty* drivers (availability or position changed since the tree was built) are skipped in the
  tree's answers — the tree is asked for ``K + stale`` neighbours so that K valid ones remain —
  and those available now are searched by brute force;
- an order whose tree answer held fewer than K drivers got *every* tree driver within the
  radius; until the next rebuild its tree part can only shrink, so it is kept and filtered
  instead of asked again.

The result is exact — the same pairs a fresh tree would give — and the tree is rebuilt once the
dirty set grows past a fraction of it.

Rounds with few available drivers skip the tree altogether: a sweep along the city's long axis
(drivers sorted by their position along it, each order compared only with those within the
radius along it) is cheaper than any tree bookkeeping when (waiting orders × available drivers)
is at most ``sweep_max`` and an order's band holds a few times K drivers at most — the rounds of
a supply-constrained day, where hundreds of orders wait for a few free drivers. The tree's dirty
set keeps accumulating meanwhile, so the next tree round stays exact.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["DriverIndex"]


class DriverIndex:
    """Nearest-available-driver queries over a fleet whose state lives in numpy arrays."""

    def __init__(
        self,
        n_drivers: int,
        rebuild_fraction: float = 0.1,
        min_rebuild: int = 48,
        sweep_max: int = 150_000,
        sweep_per_k: float = 16.0,
        axis: tuple[float, float] = (0.0, 1.0),
        length_m: float = float("inf"),
    ):
        """``axis``: a unit vector along which the city is longest (the sweep direction);
        ``length_m``: the city's extent along it, metres (to estimate how many drivers a point's
        band holds). ``sweep_max`` and ``sweep_per_k`` were chosen on full Manhattan days with
        3,600 and 8,000 drivers (``bench/bench_sim.py``; docs/results/tuning.md §5)."""
        self.dirty = np.zeros(n_drivers, dtype=bool)
        """Set by the simulator whenever a driver's availability or position changes."""
        self._tree: cKDTree | None = None
        self._tree_ids = np.zeros(0, dtype=np.int64)
        self.rebuild_fraction = rebuild_fraction
        self.min_rebuild = min_rebuild
        self.rebuilds = 0
        self.sweep_max = sweep_max
        """Largest (query points × available drivers) searched by the sweep instead of the tree."""
        self.sweep_per_k = sweep_per_k
        """With ``k`` set, sweep only while a point's band is expected to hold at most this many
        times ``k`` drivers (beyond that the tree, which stops at ``k``, is cheaper)."""
        self.length_m = length_m
        norm = float(np.hypot(*axis))
        if not norm > 0:
            raise ValueError("axis must be a non-zero vector")
        self._ax = (float(axis[0]) / norm, float(axis[1]) / norm)
        # complete tree answers since the last rebuild, flat: a mask over keys that have one
        # (grown on demand; keys are small non-negative ids such as order ids), the list of
        # those keys, and the (key, driver, distance) entries of all of them
        self._done_mask = np.zeros(1024, dtype=bool)
        self._done_keys = np.zeros(0, dtype=np.int64)
        self._c_key = np.zeros(0, dtype=np.int64)
        self._c_drv = np.zeros(0, dtype=np.int64)
        self._c_dist = np.zeros(0, dtype=np.float64)

    def touch(self, ids: np.ndarray) -> None:
        """Mark drivers whose availability or position changed."""
        self.dirty[ids] = True

    def _rebuild(self, avail: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        ids = np.flatnonzero(avail)
        self._tree_ids = ids
        self._tree = (
            cKDTree(np.column_stack((x[ids], y[ids])), balanced_tree=False, compact_nodes=False)
            if ids.size
            else None
        )
        self.dirty[:] = False
        self._done_mask[self._done_keys] = False
        self._done_keys = self._done_keys[:0]
        self._c_key = self._c_key[:0]
        self._c_drv = self._c_drv[:0]
        self._c_dist = self._c_dist[:0]
        self.rebuilds += 1

    def query(
        self,
        avail: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        qx: np.ndarray,
        qy: np.ndarray,
        k: int,
        radius: float,
        keys: np.ndarray | None = None,
        avail_ids: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (query row, driver id, distance) of the ``k`` nearest available drivers within
        ``radius`` of each query point, sorted by row then distance. ``k = 0`` means all.

        ``keys`` (e.g. order ids) let the index reuse complete answers of earlier rounds for
        query points that have not moved; without keys every point is asked afresh.
        ``avail_ids`` (``flatnonzero(avail)``) saves recomputing it when the caller has it.
        """
        if self.sweep_max > 0:
            ids = np.flatnonzero(avail) if avail_ids is None else avail_ids
            n_avail = ids.size
            if qx.size * n_avail <= self.sweep_max and (
                k <= 0 or n_avail * min(1.0, 2.0 * radius / self.length_m) <= self.sweep_per_k * k
            ):
                return self._sweep(ids, x, y, qx, qy, k, radius)
        dirty_ids = np.flatnonzero(self.dirty)
        if self._tree is None or dirty_ids.size > max(
            self.min_rebuild, self.rebuild_fraction * self._tree_ids.size
        ):
            self._rebuild(avail, x, y)
            dirty_ids = dirty_ids[:0]
        m = qx.size
        rows_parts: list[np.ndarray] = []
        drv_parts: list[np.ndarray] = []
        dist_parts: list[np.ndarray] = []
        stale = self.dirty[self._tree_ids] if dirty_ids.size else None
        n_stale = int(stale.sum()) if stale is not None else 0

        # -- tree part: reuse complete answers, ask the tree for the rest
        if self._tree is not None:
            n_tree = self._tree_ids.size
            ask = np.arange(m)
            if keys is not None and (
                keys.size == 0 or (keys[0] >= 0 and bool(np.all(keys[1:] > keys[:-1])))
            ):
                ask = self._reuse(keys, ask, n_stale, rows_parts, drv_parts, dist_parts)
            else:
                keys = None
            if ask.size:
                q = np.column_stack((qx[ask], qy[ask]))
                if k > 0:
                    kk = min(k + n_stale, n_tree)
                    dist, li = self._tree.query(q, k=kk, distance_upper_bound=radius)
                    if kk == 1:
                        dist = dist[:, None]
                        li = li[:, None]
                    hit = li < n_tree
                    if keys is not None:
                        # fewer hits than asked for: that is every tree driver in the radius
                        full = (hit.sum(axis=1) < kk) | (kk == n_tree)
                        self._remember(keys[ask[full]], li[full], dist[full], hit[full])
                    if n_stale:
                        hit[hit] = ~stale[li[hit]]  # type: ignore[index]
                    r, _ = np.nonzero(hit)
                    rows_parts.append(ask[r])
                    drv_parts.append(self._tree_ids[li[hit]])
                    dist_parts.append(dist[hit])
                else:
                    lists = self._tree.query_ball_point(q, r=radius)
                    lens = np.fromiter((len(v) for v in lists), dtype=np.int64, count=ask.size)
                    r = np.repeat(ask, lens)
                    li = np.fromiter(
                        (j for v in lists for j in v), dtype=np.int64, count=int(lens.sum())
                    )
                    if n_stale:
                        keep = ~stale[li]  # type: ignore[index]
                        r, li = r[keep], li[keep]
                    d = self._tree_ids[li]
                    rows_parts.append(r)
                    drv_parts.append(d)
                    dist_parts.append(np.hypot(x[d] - qx[r], y[d] - qy[r]))

        # -- dirty drivers that are available now: brute force
        fresh = dirty_ids[avail[dirty_ids]] if dirty_ids.size else dirty_ids
        if fresh.size:
            dd = np.hypot(x[fresh][None, :] - qx[:, None], y[fresh][None, :] - qy[:, None])
            r, c = np.nonzero(dd <= radius)
            rows_parts.append(r)
            drv_parts.append(fresh[c])
            dist_parts.append(dd[r, c])

        if not rows_parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0)
        return self._sorted(
            np.concatenate(rows_parts),
            np.concatenate(drv_parts),
            np.concatenate(dist_parts),
            k,
            radius,
        )

    def _sweep(
        self,
        ids: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        qx: np.ndarray,
        qy: np.ndarray,
        k: int,
        radius: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` nearest of drivers ``ids`` within ``radius`` of each query point: drivers
        sorted along the axis, each point compared with those within the radius along it."""
        ax, ay = self._ax
        dx_, dy_ = x[ids], y[ids]
        u = dx_ * ax + dy_ * ay
        by_u = np.argsort(u)
        u = u[by_u]
        qu = qx * ax + qy * ay
        lo = np.searchsorted(u, qu - radius)
        n = np.searchsorted(u, qu + radius, side="right") - lo
        total = int(n.sum())
        rows = np.repeat(np.arange(qx.size), n)
        # the j-th pair of row r is driver lo[r] + j in axis order
        j = np.arange(total) + np.repeat(lo - (np.cumsum(n) - n), n)
        j = by_u[j]
        ddx = dx_[j] - qx[rows]
        ddy = dy_[j] - qy[rows]
        d2 = ddx * ddx
        d2 += ddy * ddy
        ok = d2 <= radius * radius
        return self._sorted(rows[ok], ids[j[ok]], np.sqrt(d2[ok]), k, radius)

    @staticmethod
    def _sorted(
        rows: np.ndarray, drv: np.ndarray, dist: np.ndarray, k: int, radius: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs ordered by row, then distance, cut to the ``k`` nearest per row."""
        # by row, then distance (one float key: rows are whole numbers, distances < 2 radius)
        order = np.argsort(rows * (2.0 * radius + 1.0) + dist, kind="stable")
        rows, drv, dist = rows[order], drv[order], dist[order]
        if k > 0 and rows.size:
            first = np.searchsorted(rows, rows, side="left")
            keep = (np.arange(rows.size) - first) < k
            rows, drv, dist = rows[keep], drv[keep], dist[keep]
        return rows, drv, dist

    def _reuse(
        self,
        keys: np.ndarray,
        ask: np.ndarray,
        n_stale: int,
        rows_parts: list[np.ndarray],
        drv_parts: list[np.ndarray],
        dist_parts: list[np.ndarray],
    ) -> np.ndarray:
        """Add the kept complete answers of ``keys`` (sorted); return the rows still to ask."""
        if self._done_keys.size == 0 or keys.size == 0:
            return ask
        if keys[-1] >= self._done_mask.size:
            self._grow(int(keys[-1]))
        known = self._done_mask[keys]
        if not known.any():
            return ask
        pos = np.minimum(np.searchsorted(keys, self._c_key), keys.size - 1)
        sel = keys[pos] == self._c_key
        if n_stale:
            sel &= ~self.dirty[self._c_drv]
        rows_parts.append(pos[sel])
        drv_parts.append(self._c_drv[sel])
        dist_parts.append(self._c_dist[sel])
        return ask[~known]

    def _remember(
        self, keys: np.ndarray, li: np.ndarray, dist: np.ndarray, hit: np.ndarray
    ) -> None:
        if keys.size == 0:
            return
        r, c = np.nonzero(hit)
        self._c_key = np.concatenate((self._c_key, keys[r]))
        self._c_drv = np.concatenate((self._c_drv, self._tree_ids[li[r, c]]))
        self._c_dist = np.concatenate((self._c_dist, dist[r, c]))
        if keys.max() >= self._done_mask.size:
            self._grow(int(keys.max()))
        self._done_mask[keys] = True
        self._done_keys = np.concatenate((self._done_keys, keys))

    def _grow(self, key: int) -> None:
        mask = np.zeros(max(2 * self._done_mask.size, key + 1), dtype=bool)
        mask[: self._done_mask.size] = self._done_mask
        self._done_mask = mask
