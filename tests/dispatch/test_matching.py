"""Matchers against brute-force enumeration on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import v1d3.dispatch.matching as matching
from v1d3.dispatch.matching import (
    compact_ids,
    dense_matching,
    greedy_matching,
    max_weight_matching,
    max_weight_matching_compacted,
    sparse_matching,
)


def compacted_matching(rows, cols, w):
    """:func:`max_weight_matching_compacted` on sides compacted by the caller."""
    if len(rows) == 0:
        z = np.zeros(0, dtype=np.int64)
        return max_weight_matching_compacted(0, z, 0, z, np.asarray(w))
    return max_weight_matching_compacted(*compact_ids(rows), *compact_ids(cols), np.asarray(w))


SOLVERS = (max_weight_matching, sparse_matching, dense_matching, compacted_matching)


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
    best = brute_force_best(rows, cols, w)
    for solve in SOLVERS:
        sel = solve(np.array(rows), np.array(cols), np.array(w))
        assert one_to_one(rows, cols, sel.tolist()), solve.__name__
        assert all(w[i] > 0 for i in sel), solve.__name__
        total = float(sum(w[i] for i in sel))
        assert abs(total - best) < 1e-9, solve.__name__


@settings(max_examples=200, deadline=None)
@given(instances)
def test_lexicographic_weights_take_the_most_pairs(inst) -> None:
    """Weights lifted so that one more pair outweighs any other difference (as the value
    policies lift them): the sparse solver's shortcut without "unmatched" edges, and its
    fallback when no matching covers the smaller side, both find the brute-force best."""
    rows, cols, w = inst
    lifted = [abs(x) + 100.0 for x in w]
    best = brute_force_best(rows, cols, lifted)
    for solve in SOLVERS:
        sel = solve(np.array(rows), np.array(cols), np.array(lifted))
        assert one_to_one(rows, cols, sel.tolist()), solve.__name__
        assert abs(sum(lifted[i] for i in sel) - best) < 1e-9, solve.__name__


def test_sparse_keeps_tiny_weights_apart() -> None:
    """The costs are at the weights' own scale: weights of 1e-17 are matched as well as 1."""
    rng = np.random.default_rng(5)
    rows = np.repeat(np.arange(300), 8)
    cols = np.concatenate([rng.choice(600, 8, replace=False) for _ in range(300)])
    w = rng.random(rows.size)
    best = w[dense_matching(rows, cols, w)].sum()
    for scale in (1.0, 1e-17):
        sel = sparse_matching(rows, cols, w * scale)
        assert np.isclose(w[sel].sum(), best, rtol=1e-12), scale


def test_nan_weights_are_refused_by_every_solver() -> None:
    rows, cols, w = np.array([0, 1]), np.array([0, 1]), np.array([1.0, np.nan])
    for solve in SOLVERS:
        with pytest.raises(ValueError):
            solve(rows, cols, w)


def test_sparse_keeps_the_heavier_of_a_repeated_pair() -> None:
    # (0, 0) given twice; the heavier copy (index 2) is the one that can be chosen
    rows, cols, w = np.array([0, 1, 0]), np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0])
    for solve in SOLVERS:
        assert solve(rows, cols, w).tolist() == [1, 2], solve.__name__


def test_large_rounds_are_solved_on_their_pairs(monkeypatch) -> None:
    """Above DENSE_MAX_CELLS the sparse solver runs (no rows × columns matrix is built), and it
    finds the dense solver's total on a round of city shape: sparse rows of nearest drivers."""
    rng = np.random.default_rng(3)
    n_o, n_d, k = 300, 600, 8
    rows = np.repeat(np.arange(n_o), k)
    cols = np.concatenate([rng.choice(n_d, k, replace=False) for _ in range(n_o)])
    w = rng.normal(2.0, 3.0, rows.size)
    assert n_o * n_d > matching.DENSE_MAX_CELLS
    ref = dense_matching(rows, cols, w)
    monkeypatch.setattr(matching, "_dense", None)  # calling it would fail
    sel = max_weight_matching(rows, cols, w)
    assert one_to_one(rows.tolist(), cols.tolist(), sel.tolist())
    assert np.isclose(np.maximum(w, 0)[sel].sum(), np.maximum(w, 0)[ref].sum(), rtol=1e-12)


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
    for solve in SOLVERS:
        assert solve(z, z, np.zeros(0)).size == 0
        assert solve(np.array([1]), np.array([2]), np.array([-1.0])).size == 0
    assert greedy_matching(z, z, z).size == 0
