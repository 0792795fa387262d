"""Evaluation: what determines a run (:mod:`v1d3.eval.config`: ``RunConfig``), one run
(:mod:`v1d3.eval.run`), the study model and the command that regenerates a study
(:mod:`v1d3.eval.study`), studies of many runs (:mod:`v1d3.eval.evaluate`) on local processes or
Ray (:mod:`v1d3.eval.backends`), the figures of a run (:mod:`v1d3.eval.metrics`), statistics over
runs (:mod:`v1d3.eval.summary`) and the report (:mod:`v1d3.eval.report`).

A run turns a run config into a run folder (config, resolved policy constants, metrics, logs),
written atomically. A study runs every policy on every (weekday, seed) with common random
numbers, locally or on Ray, and writes ``results.parquet``, ``summary.csv`` (means with 95 %
intervals, paired differences to a baseline) and ``report.html``. Every figure of a run is
computed from its logs in :mod:`v1d3.eval.metrics`.

The package's names (``from v1d3.eval import RunConfig, run_simulation``) are loaded on first
use, each from its module: importing ``v1d3.eval.metrics`` (numpy and the logs only) loads
neither the policies nor torch that a run needs. The study function is
``from v1d3.eval.evaluate import evaluate`` (``v1d3.eval.evaluate`` is its module's name).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "RunConfig": "config",
    "RunResult": "run",
    "run_simulation": "run",
    "StudyConfig": "study",
    "Evaluation": "evaluate",
    "METRIC_KEYS": "metrics",
    "compute_metrics": "metrics",
}
"""Each public name of the package → the module of :mod:`v1d3.eval` that defines it."""

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """``v1d3.eval.<name>``: the name from its module, imported on first use (PEP 562)."""
    if name not in _HOME:
        raise AttributeError(f"module 'v1d3.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"v1d3.eval.{_HOME[name]}"), name)
    globals()[name] = value
    return value
