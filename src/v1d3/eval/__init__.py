"""Evaluation: one run (:func:`run_simulation`), studies of many (:func:`evaluate`), metrics."""

from v1d3.eval.config import RunConfig
from v1d3.eval.evaluate import Evaluation, evaluate
from v1d3.eval.metrics import METRIC_KEYS, compute_metrics
from v1d3.eval.run import RunResult, run_simulation
from v1d3.eval.study import StudyConfig

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
