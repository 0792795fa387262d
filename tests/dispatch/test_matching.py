"""Matchers against brute-force enumeration on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from v1d3.dispatch.matching import greedy_matching, max_weight_matching


def brute_force_best(rows, cols, w) -> float:
    """Largest total positive weight of any one-to-one subset of pairs."""
    best = 0.0
    n = len(rows)
    for r in range(1, n + 1):
        for subset in itertools.combinations(range(n), r):
            rs = [rows[i] for i in subset]
            cs = [cols[i] for i in subset]
            if len(set(rs)) == r and len(set(cs)) == r:
                best = max(best, sum(max(w[i], 0.0) for i in subset))
    return best


instances = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.floats(-5, 10, allow_nan=False), min_size=n, max_size=n),
    )
)


def one_to_one(rows, cols, sel) -> bool:
    r = [rows[i] for i in sel]
    c = [cols[i] for i in sel]
    return len(set(r)) == len(r) and len(set(c)) == len(c)


@settings(max_examples=300, deadline=None)
@given(instances)
def test_max_weight_matching_is_optimal(inst) -> None:
    rows, cols, w = inst
    sel = max_weight_matching(np.array(rows), np.array(cols), np.array(w))
    assert one_to_one(rows, cols, sel.tolist())
    assert all(w[i] > 0 for i in sel)
    total = float(sum(w[i] for i in sel))
    assert abs(total - brute_force_best(rows, cols, w)) < 1e-9


@settings(max_examples=200, deadline=None)
@given(instances)
def test_greedy_matching_follows_priority(inst) -> None:
    rows, cols, w = inst
    prio = np.argsort(np.array(w), kind="stable")
    sel = set(greedy_matching(np.array(rows), np.array(cols), prio).tolist())
    assert one_to_one(rows, cols, sorted(sel))
    # reference: walk the priority list by hand
    used_r, used_c, ref = set(), set(), set()
    for p in prio.tolist():
        if rows[p] not in used_r and cols[p] not in used_c:
            used_r.add(rows[p])
            used_c.add(cols[p])
            ref.add(p)
    assert sel == ref


def test_empty_batch() -> None:
    z = np.zeros(0, dtype=np.int64)
    assert max_weight_matching(z, z, np.zeros(0)).size == 0
    assert greedy_matching(z, z, z).size == 0
