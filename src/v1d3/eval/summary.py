"""Means with confidence intervals, and paired differences to a baseline.

Method (what ``summary.csv`` holds, one row per policy × metric):

- **mean and 95% CI.** The runs of a policy over the study's (weekday, seed) grid are treated as
  ``n`` independent replicate days. The interval is the Student-t interval
  ``mean ± t(0.975, n-1) · s / √n`` with ``s`` the sample standard deviation (``ddof=1``). Days of
  the week differ systematically, so the interval describes the average over the chosen weekdays,
  not any single weekday. With ``n = 1`` there is no interval (``ci_low``/``ci_high`` are NaN).
- **relative difference to the baseline, paired.** Only (weekday, seed) pairs where both the policy
  and the baseline finished are used. With common random numbers both runs of a pair see the same
  orders, shifts, cancellation draws and idle moves, so pairing removes the day-to-day variation
  that the two share. With ``x_i`` the policy's and ``b_i`` the baseline's value on pair ``i``::

      rel_diff = mean(x) / mean(b) - 1
      z_i      = (x_i - (1 + rel_diff) · b_i) / mean(b)          (delta method for a ratio of means)
      CI       = rel_diff ± t(0.975, n-1) · sd(z) / √n

  This is the linearisation of the ratio of two paired means; it accounts for the baseline's own
  noise and for the correlation of the pair. ``rel_diff`` is NaN when ``mean(b)`` is 0, and the
  interval is NaN with fewer than two pairs. The baseline's own row has ``rel_diff = 0`` and an
  interval of ``[0, 0]``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = [
    "SUMMARY_COLUMNS",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "SummaryRow",
    "mean_ci",
    "paired_rel_diff",
    "summarise",
    "summary_csv",
]

SUMMARY_COLUMNS = (
    "policy",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "rel_diff",
    "rel_diff_ci_low",
    "rel_diff_ci_high",
    "n",
    "failed",
)
"""Columns of ``summary.csv``: the issue's eight, then the run count and failed-run count."""

HIGHER_IS_BETTER = frozenset(
    {
        "matched",
        "completed",
        "total_income",
        "answer_rate",
        "completion_rate",
        "utilisation",
        "income_per_online_hour",
        "income_per_online_hour_managed",
        "income_per_online_hour_managed_kdd",
    }
)
"""Metrics where a larger value is better (used to mark the best policy per column)."""

LOWER_IS_BETTER = frozenset(
    {
        "cancelled",
        "cancel_rate",
        "wait_mean_s",
        "wait_p90_s",
        "pickup_km_mean",
        "pickup_km_p90",
        "income_gini",
    }
)
"""Metrics where a smaller value is better; metrics in neither set are not ranked."""

CONFIDENCE = 0.95


@dataclass(frozen=True)
class SummaryRow:
    """One policy × metric line of ``summary.csv``."""

    policy: str
    metric: str
    mean: float
    ci_low: float
    ci_high: float
    rel_diff: float
    """(policy mean / baseline mean) - 1 over the paired (weekday, seed) runs."""
    rel_diff_ci_low: float
    rel_diff_ci_high: float
    n: int
    """Finished runs of the policy that the mean uses."""
    failed: int
    """Runs of the policy that failed (not in the mean)."""


def _t(n: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))


def mean_ci(x: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval of ``x`` (NaN bounds when fewer than two values)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = _t(x.size) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return m, m - half, m + half


def paired_rel_diff(
    x: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> tuple[float, float, float]:
    """Relative difference ``mean(x)/mean(b) - 1`` of paired samples with its 95% interval.

    Delta method for the ratio of two paired means (see the module docstring).
    """
    x = np.asarray(x, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if x.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {x.size} and {b.size}")
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mb = float(b.mean())
    if mb == 0:
        return math.nan, math.nan, math.nan
    r = float(x.mean()) / mb - 1.0
    if x.size < 2:
        return r, math.nan, math.nan
    z = (x - (1.0 + r) * b) / mb
    half = _t(x.size) * float(z.std(ddof=1)) / math.sqrt(x.size)
    return r, r - half, r + half


def summarise(
    rows: Iterable[Mapping[str, object]],
    metrics: Sequence[str],
    baseline: str,
    policies: Sequence[str] | None = None,
) -> list[SummaryRow]:
    """Summary rows from per-run rows.

    Each run row holds ``policy``, ``weekday``, ``seed``, ``status`` (``"ok"`` or ``"failed"``)
    and the metric values. ``policies`` fixes the output order (default: order of appearance).
    """
    runs: dict[str, dict[tuple[int, int], Mapping[str, object]]] = {}
    failed: dict[str, int] = {}
    order: list[str] = list(policies or [])
    for row in rows:
        p = str(row["policy"])
        if p not in order:
            order.append(p)
        if row.get("status", "ok") != "ok":
            failed[p] = failed.get(p, 0) + 1
            continue
        runs.setdefault(p, {})[(int(row["weekday"]), int(row["seed"]))] = row  # type: ignore[call-overload]
    base = runs.get(baseline, {})
    out: list[SummaryRow] = []
    for p in order:
        mine = runs.get(p, {})
        keys = sorted(mine)
        paired = [k for k in keys if k in base]
        for metric in metrics:
            # a metric that a run's record lacks (written by an earlier release, before the
            # metric existed) is summarised over the runs that have it
            have = [k for k in keys if mine[k].get(metric) is not None]
            x = np.array([float(mine[k][metric]) for k in have])  # type: ignore[arg-type]
            m, lo, hi = mean_ci(x)
            if p == baseline:
                r = (0.0, 0.0, 0.0) if have else (math.nan,) * 3
            else:
                both = [k for k in paired if base[k].get(metric) is not None and k in have]
                xp = [float(mine[k][metric]) for k in both]  # type: ignore[arg-type]
                bp = [float(base[k][metric]) for k in both]  # type: ignore[arg-type]
                r = paired_rel_diff(xp, bp)
            out.append(SummaryRow(p, metric, m, lo, hi, *r, n=len(have), failed=failed.get(p, 0)))
    return out


def summary_csv(rows: Sequence[SummaryRow]) -> str:
    """``summary.csv`` text (NaN written as an empty field)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUMMARY_COLUMNS)
    for r in rows:
        d = asdict(r)
        w.writerow(
            ["" if isinstance(d[c], float) and math.isnan(d[c]) else d[c] for c in SUMMARY_COLUMNS]
        )
    return buf.getvalue()
