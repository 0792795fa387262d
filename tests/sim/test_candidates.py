"""The incremental driver index returns exactly what a fresh brute-force search returns."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.sim.candidates import DriverIndex


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


SEARCHES = {
    "tree": {"sweep_max": 0},
    "sweep": {"sweep_max": 10**9, "sweep_per_k": float("inf"), "axis": (0.6, 0.8)},
    # switches between the two from round to round as sizes change
    "mixed": {"sweep_max": 2500, "sweep_per_k": 30.0, "axis": (1.0, 0.0), "length_m": 5000.0},
}


@pytest.mark.parametrize("k", [0, 1, 3, 11])
@pytest.mark.parametrize("with_keys", [False, True])
@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_index_matches_brute_force_through_many_changes(
    k: int, with_keys: bool, search: str
) -> None:
    rng = np.random.default_rng(k)
    n = 400
    x = rng.uniform(0, 5000, n)
    y = rng.uniform(0, 5000, n)
    avail = rng.random(n) < 0.5
    # waiting orders: fixed points with increasing ids, some leave, new ones arrive
    ox = rng.uniform(0, 5000, 2000)
    oy = rng.uniform(0, 5000, 2000)
    waiting = np.arange(15)
    next_id = 15
    index = DriverIndex(n, rebuild_fraction=0.2, min_rebuild=10, **SEARCHES[search])
    for _ in range(80):
        ch = rng.choice(n, size=rng.integers(0, 8), replace=False)
        avail[ch] = ~avail[ch]
        mv = rng.choice(n, size=rng.integers(0, 5), replace=False)
        x[mv] = rng.uniform(0, 5000, mv.size)
        index.touch(np.concatenate([ch, mv]))
        waiting = waiting[rng.random(waiting.size) > 0.2]
        arrivals = int(rng.integers(0, 5))
        waiting = np.concatenate([waiting, np.arange(next_id, next_id + arrivals)])
        next_id += arrivals
        qx, qy = ox[waiting], oy[waiting]
        keys = waiting if with_keys else None
        rows, drv, dist = index.query(avail, x, y, qx, qy, k, 900.0, keys=keys)
        got = set(zip(rows.tolist(), drv.tolist(), strict=True))
        assert got == brute(avail, x, y, qx, qy, k, 900.0)
        np.testing.assert_allclose(dist, np.hypot(x[drv] - qx[rows], y[drv] - qy[rows]))
        assert np.all(np.diff(rows) >= 0)
    if search == "sweep":
        assert index.rebuilds == 0
    else:
        assert index.rebuilds > 1
