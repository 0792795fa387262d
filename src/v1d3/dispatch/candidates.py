"""Candidate search: the K nearest available drivers within the pickup radius of each order.

A KD-tree over the available drivers answers the query, but rebuilding it every 2-second round
costs more than the rest of the round when thousands of drivers are idle. :class:`DriverIndex`
therefore keeps a tree from an earlier round and a set of *dirty* drivers whose availability or
position changed since: tree entries of dirty drivers are skipped (the tree is asked for
``K + stale`` neighbours so that K valid ones remain), dirty drivers that are available now are
searched by brute force, and the two are merged. The result is exact — the same pairs a fresh
tree would give — and the tree is rebuilt once the dirty set grows past a fraction of it.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["DriverIndex"]


class DriverIndex:
    """Nearest-available-driver queries over a fleet whose state lives in numpy arrays."""

    def __init__(self, n_drivers: int, rebuild_fraction: float = 0.1, min_rebuild: int = 48):
        self.dirty = np.zeros(n_drivers, dtype=bool)
        """Set by the simulator whenever a driver's availability or position changes."""
        self._n_dirty_hint = 0
        self._tree: cKDTree | None = None
        self._tree_ids = np.zeros(0, dtype=np.int64)
        self.rebuild_fraction = rebuild_fraction
        self.min_rebuild = min_rebuild
        self.rebuilds = 0

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
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (query row, driver id, distance) of the ``k`` nearest available drivers within
        ``radius`` of each query point, sorted by row then distance. ``k = 0`` means all."""
        dirty_ids = np.flatnonzero(self.dirty)
        if self._tree is None or dirty_ids.size > max(
            self.min_rebuild, self.rebuild_fraction * self._tree_ids.size
        ):
            self._rebuild(avail, x, y)
            dirty_ids = dirty_ids[:0]
        m = qx.size
        q = np.column_stack((qx, qy))
        rows_parts: list[np.ndarray] = []
        drv_parts: list[np.ndarray] = []
        dist_parts: list[np.ndarray] = []
        stale = self.dirty[self._tree_ids] if dirty_ids.size else None
        n_stale = int(stale.sum()) if stale is not None else 0

        # -- tree part (clean entries only)
        if self._tree is not None:
            n_tree = self._tree_ids.size
            if k > 0:
                kk = min(k + n_stale, n_tree)
                dist, li = self._tree.query(q, k=kk, distance_upper_bound=radius)
                if kk == 1:
                    dist = dist[:, None]
                    li = li[:, None]
                hit = li < n_tree
                if n_stale:
                    hit[hit] = ~stale[li[hit]]  # type: ignore[index]
                r, _ = np.nonzero(hit)
                rows_parts.append(r)
                drv_parts.append(self._tree_ids[li[hit]])
                dist_parts.append(dist[hit])
            else:
                lists = self._tree.query_ball_point(q, r=radius)
                lens = np.fromiter((len(v) for v in lists), dtype=np.int64, count=m)
                r = np.repeat(np.arange(m), lens)
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
            dx = x[fresh][None, :] - qx[:, None]
            dy = y[fresh][None, :] - qy[:, None]
            dd = np.hypot(dx, dy)
            r, c = np.nonzero(dd <= radius)
            rows_parts.append(r)
            drv_parts.append(fresh[c])
            dist_parts.append(dd[r, c])

        if not rows_parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0)
        rows = np.concatenate(rows_parts)
        drv = np.concatenate(drv_parts)
        dist = np.concatenate(dist_parts)
        # by row, then distance (ties keep a fixed order: tree part first, then by driver id)
        order = np.argsort(rows * (4.0 * radius + 1.0) + dist, kind="stable")
        rows, drv, dist = rows[order], drv[order], dist[order]
        if k > 0 and rows.size:
            first = np.searchsorted(rows, rows, side="left")
            keep = (np.arange(rows.size) - first) < k
            rows, drv, dist = rows[keep], drv[keep], dist[keep]
        return rows, drv, dist
