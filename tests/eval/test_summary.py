"""Means, t-intervals and paired relative differences, checked against numbers worked by hand."""

from __future__ import annotations

import csv
import io
import math

import pytest

from v1d3.eval.summary import SUMMARY_COLUMNS, mean_ci, paired_rel_diff, summarise, summary_csv

# Student t quantiles (0.975) from tables: df=2 → 4.302653, df=3 → 3.182446
T2 = 4.302652729911275
T3 = 3.182446305284263


def test_mean_ci_by_hand() -> None:
    # x = 2, 4, 6, 8: mean 5, s² = (9+1+1+9)/3 = 20/3, s/√n = √(20/3)/2 = 1.290994
    m, lo, hi = mean_ci([2.0, 4.0, 6.0, 8.0])
    half = T3 * math.sqrt(20 / 3) / 2
    assert m == 5.0
    assert half == pytest.approx(4.108521, abs=1e-6)
    assert lo == pytest.approx(0.891479, abs=1e-6)
    assert hi == pytest.approx(9.108521, abs=1e-6)


def test_mean_ci_degenerate() -> None:
    m, lo, hi = mean_ci([3.5])
    assert m == 3.5 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in mean_ci([]))
    assert mean_ci([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)


def test_paired_rel_diff_by_hand() -> None:
    # b = 10, 12, 14; x = 11, 13, 16: mean(x)/mean(b) - 1 = (40/3)/12 - 1 = 1/9
    # z_i = (x_i - 10/9 b_i)/12 = -1/108, -1/36, 1/27 (mean 0)
    # s_z² = (1/108² + 1/36² + 1/27²)/2 = 0.00111454, half = T2 · s_z/√3 = 0.0829323
    r, lo, hi = paired_rel_diff([11.0, 13.0, 16.0], [10.0, 12.0, 14.0])
    s_z = math.sqrt(((1 / 108) ** 2 + (1 / 36) ** 2 + (1 / 27) ** 2) / 2)
    assert r == pytest.approx(1 / 9, abs=1e-12)
    assert T2 * s_z / math.sqrt(3) == pytest.approx(0.0829323, abs=1e-7)
    assert lo == pytest.approx(0.0281788, abs=1e-7)
    assert hi == pytest.approx(0.1940434, abs=1e-7)


def test_paired_rel_diff_constant_ratio_has_zero_width() -> None:
    # x = 1.1 · b exactly: the pairing removes all noise
    r, lo, hi = paired_rel_diff([11.0, 22.0, 33.0], [10.0, 20.0, 30.0])
    assert r == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


def test_paired_rel_diff_degenerate() -> None:
    assert all(math.isnan(v) for v in paired_rel_diff([1.0, 2.0], [0.0, 0.0]))
    r, lo, hi = paired_rel_diff([2.0], [1.0])
    assert r == 1.0 and math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError):
        paired_rel_diff([1.0], [1.0, 2.0])


def _rows() -> list[dict[str, object]]:
    base = {(0, 0): 10.0, (0, 1): 12.0, (1, 0): 14.0}
    pol = {(0, 0): 11.0, (0, 1): 13.0, (1, 0): 16.0, (1, 1): 99.0}
    rows: list[dict[str, object]] = []
    for (w, s), v in base.items():
        rows.append({"policy": "distance/stay", "weekday": w, "seed": s, "status": "ok", "m": v})
    rows.append({"policy": "distance/stay", "weekday": 1, "seed": 1, "status": "failed", "m": None})
    for (w, s), v in pol.items():
        rows.append({"policy": "fare/stay", "weekday": w, "seed": s, "status": "ok", "m": v})
    return rows


def test_summarise_pairs_by_weekday_and_seed() -> None:
    out = summarise(_rows(), ["m"], baseline="distance/stay")
    base, fare = out
    assert (base.policy, base.n, base.failed) == ("distance/stay", 3, 1)
    assert base.mean == pytest.approx(12.0)
    assert (base.rel_diff, base.rel_diff_ci_low, base.rel_diff_ci_high) == (0.0, 0.0, 0.0)
    # the mean uses all 4 runs of fare/stay, the difference only the 3 paired ones
    assert fare.n == 4 and fare.failed == 0
    assert fare.mean == pytest.approx((11 + 13 + 16 + 99) / 4)
    assert fare.rel_diff == pytest.approx(1 / 9)
    assert fare.rel_diff_ci_low == pytest.approx(0.0281788, abs=1e-7)
    assert fare.rel_diff_ci_high == pytest.approx(0.1940434, abs=1e-7)


def test_summary_csv_columns_and_nan() -> None:
    rows = [{"policy": "a/stay", "weekday": 0, "seed": 0, "status": "ok", "m": 1.0}]
    text = summary_csv(summarise(rows, ["m"], baseline="a/stay"))
    table = list(csv.reader(io.StringIO(text)))
    assert tuple(table[0]) == SUMMARY_COLUMNS
    assert table[0][:8] == [
        "policy", "metric", "mean", "ci_low", "ci_high",
        "rel_diff", "rel_diff_ci_low", "rel_diff_ci_high",
    ]  # fmt: skip
    rec = dict(zip(table[0], table[1], strict=True))
    assert rec["mean"] == "1.0" and rec["ci_low"] == "" and rec["n"] == "1"
