"""Does the sparse matcher change a simulated day? Every round solved both ways.

Runs ``v1d3 simulate`` with the given options (its run folder as usual) with the dense solver
deciding (:func:`v1d3.dispatch.matching.dense_matching`, what every round used before large
rounds went to the sparse one), and solves every round also by
:func:`~v1d3.dispatch.matching.max_weight_matching` (dense up to ``DENSE_MAX_CELLS``, sparse
above) and by the sparse solver alone. Prints one JSON object: rounds, how many were over the
size limit, how many selections differ from the dense one (and of those, how many weigh less:
none may), and the seconds each solver took over the day.

    python scripts/compare_matchers.py --dispatch v1d3 --fleet-scale 1.5 --out /tmp/check
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import v1d3.dispatch.advantage as advantage
import v1d3.dispatch.baselines as baselines
from v1d3.dispatch import matching
from v1d3.text_files import json_text

SOLVERS: dict[str, Callable[..., np.ndarray]] = {
    "max_weight_matching": matching.max_weight_matching,
    "sparse": matching.sparse_matching,
}


def main() -> None:
    stats: dict[str, Any] = {"rounds": 0, "over_dense_limit": 0}
    stats.update({f"{k}_differs": 0 for k in SOLVERS})
    stats.update({f"{k}_weighs_less": 0 for k in SOLVERS})
    seconds = {k: 0.0 for k in ("dense", *SOLVERS)}

    def both(rows: np.ndarray, cols: np.ndarray, weight: np.ndarray) -> np.ndarray:
        tic = time.perf_counter()
        ref = matching.dense_matching(rows, cols, weight)
        seconds["dense"] += time.perf_counter() - tic
        w = np.maximum(np.asarray(weight, dtype=np.float64), 0.0)
        stats["rounds"] += 1
        if np.unique(rows).size * np.unique(cols).size > matching.DENSE_MAX_CELLS:
            stats["over_dense_limit"] += 1
        for name, solve in SOLVERS.items():
            tic = time.perf_counter()
            sel = solve(rows, cols, weight)
            seconds[name] += time.perf_counter() - tic
            if not np.array_equal(sel, ref):
                stats[f"{name}_differs"] += 1
                if w[sel].sum() < w[ref].sum() * (1 - 1e-12):
                    stats[f"{name}_weighs_less"] += 1
        return ref

    advantage.max_weight_matching = both  # type: ignore[assignment]
    baselines.max_weight_matching = both  # type: ignore[assignment]
    from v1d3.cli.main import main as cli

    sys.argv = ["v1d3", "simulate", *sys.argv[1:]]
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the run's table: stdout is the JSON's
            cli()
    except SystemExit as e:
        if e.code:
            raise
    stats["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    print(json_text(stats))


if __name__ == "__main__":
    main()
