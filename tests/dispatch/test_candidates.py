"""The incremental driver index returns exactly what a fresh brute-force search returns."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.dispatch.candidates import DriverIndex


def brute(avail, x, y, qx, qy, k, radius):
    out = set()
    ids = np.flatnonzero(avail)
    for r in range(qx.size):
        d = np.hypot(x[ids] - qx[r], y[ids] - qy[r])
        ok = d <= radius
        cand = sorted(zip(d[ok].tolist(), ids[ok].tolist(), strict=True))
        if k > 0:
            cand = cand[:k]
        out |= {(r, i) for _, i in cand}
    return out


@pytest.mark.parametrize("k", [0, 1, 3, 11])
def test_index_matches_brute_force_through_many_changes(k: int) -> None:
    rng = np.random.default_rng(k)
    n = 400
    x = rng.uniform(0, 5000, n)
    y = rng.uniform(0, 5000, n)
    avail = rng.random(n) < 0.5
    index = DriverIndex(n, rebuild_fraction=0.2, min_rebuild=10)
    for _ in range(60):
        # some drivers change availability or move, as trips start and end
        ch = rng.choice(n, size=rng.integers(0, 8), replace=False)
        avail[ch] = ~avail[ch]
        mv = rng.choice(n, size=rng.integers(0, 5), replace=False)
        x[mv] = rng.uniform(0, 5000, mv.size)
        index.touch(np.concatenate([ch, mv]))
        qx = rng.uniform(0, 5000, 15)
        qy = rng.uniform(0, 5000, 15)
        rows, drv, dist = index.query(avail, x, y, qx, qy, k, 900.0)
        got = set(zip(rows.tolist(), drv.tolist(), strict=True))
        assert got == brute(avail, x, y, qx, qy, k, 900.0)
        np.testing.assert_allclose(dist, np.hypot(x[drv] - qx[rows], y[drv] - qy[rows]))
        assert np.all(np.diff(rows) >= 0)
    assert index.rebuilds > 1
