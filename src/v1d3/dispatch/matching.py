"""Matching algorithms on candidate pairs given as parallel arrays (never a city-wide matrix)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["max_weight_matching", "greedy_matching"]


def _compact(x: np.ndarray) -> tuple[int, np.ndarray]:
    """Number of distinct values and each entry's rank among them (like ``np.unique``'s inverse,
    with less overhead on the small arrays of one round)."""
    if (x[1:] >= x[:-1]).all():  # sorted input (the common case for order ids)
        rank = np.empty(x.size, dtype=np.int64)
        rank[0] = 0
        np.cumsum(x[1:] != x[:-1], out=rank[1:])
        return int(rank[-1]) + 1, rank
    if x.dtype.kind in "iu":
        lo = int(x.min())
        span = int(x.max()) - lo + 1
        if span <= 16 * x.size + 4096:  # e.g. driver ids: count distinct values below each
            below = np.zeros(span + 1, dtype=np.int64)
            xl = x - lo
            below[xl + 1] = 1
            np.cumsum(below, out=below)
            return int(below[-1]), below[xl]
    order = np.argsort(x, kind="stable")
    xs = x[order]
    rank = np.empty(x.size, dtype=np.int64)
    rank[0] = 0
    np.cumsum(xs[1:] != xs[:-1], out=rank[1:])
    inv = np.empty(x.size, dtype=np.int64)
    inv[order] = rank
    return int(rank[-1]) + 1, inv


def max_weight_matching(rows: np.ndarray, cols: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Indices of the pairs of a maximum-weight one-to-one matching.

    ``rows``/``cols`` identify the two sides (e.g. order and driver ids) of each candidate pair.
    Pairs with weight ≤ 0 are never selected (leaving both sides unmatched is worth 0). The
    problem is solved exactly (Kuhn–Munkres via :func:`scipy.optimize.linear_sum_assignment`) on
    the dense matrix of only the rows and columns that appear in some pair.
    """
    rows = np.asarray(rows)
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    n_r, ri = _compact(rows)
    n_c, ci = _compact(np.asarray(cols))
    w = np.maximum(np.asarray(weight, dtype=np.float64), 0.0)
    # if a (row, col) pair appears twice, keep the heavier one
    order = np.argsort(w, kind="stable")
    W = np.zeros((n_r, n_c))
    P = np.full((n_r, n_c), -1, dtype=np.int64)
    W[ri[order], ci[order]] = w[order]
    P[ri[order], ci[order]] = order
    r, c = linear_sum_assignment(W, maximize=True)
    p = P[r, c]
    keep = (p >= 0) & (W[r, c] > 0)
    return np.sort(p[keep])


def greedy_matching(rows: np.ndarray, cols: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Take pairs in the given priority order (an index permutation), skipping used sides.

    With ``priority = argsort(distance)`` this is "repeatedly match the closest remaining pair".
    """
    taken_r: set[int] = set()
    taken_c: set[int] = set()
    out: list[int] = []
    rl = np.asarray(rows).tolist()
    cl = np.asarray(cols).tolist()
    for p in np.asarray(priority).tolist():
        r = rl[p]
        c = cl[p]
        if r in taken_r or c in taken_c:
            continue
        taken_r.add(r)
        taken_c.add(c)
        out.append(p)
    return np.array(sorted(out), dtype=np.int64)
