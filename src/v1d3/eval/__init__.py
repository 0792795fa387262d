"""Evaluation: one run (:func:`run_simulation`), studies of many (:func:`evaluate`), metrics.

A run turns a :class:`RunConfig` into a run folder (config, resolved policy constants, metrics,
logs), written atomically. A study runs every policy on every (weekday, seed) with common random
numbers, locally or on Ray, and writes ``results.parquet``, ``summary.csv`` (means with 95 %
intervals, paired differences to a baseline) and ``report.html``. Every figure of a run is
computed from its logs in :mod:`v1d3.eval.metrics`.
"""

from v1d3.eval.evaluate import Evaluation, StudyConfig, evaluate
from v1d3.eval.metrics import METRIC_KEYS, compute_metrics
from v1d3.eval.run import RunConfig, RunResult, run_simulation

__all__ = [
    "Evaluation",
    "METRIC_KEYS",
    "RunConfig",
    "RunResult",
    "StudyConfig",
    "compute_metrics",
    "evaluate",
    "run_simulation",
]
