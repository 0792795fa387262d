"""Evaluation: one run (:mod:`v1d3.eval.run`), studies of many (:mod:`v1d3.eval.evaluate`), the
figures of a run (:mod:`v1d3.eval.metrics`), statistics over runs (:mod:`v1d3.eval.summary`) and
the report (:mod:`v1d3.eval.report`).

A run turns a run config into a run folder (config, resolved policy constants, metrics, logs),
written atomically. A study runs every policy on every (weekday, seed) with common random
numbers, locally or on Ray, and writes ``results.parquet``, ``summary.csv`` (means with 95 %
intervals, paired differences to a baseline) and ``report.html``. Every figure of a run is
computed from its logs in :mod:`v1d3.eval.metrics`.

Import from the modules: the package itself loads none of them, so that ``v1d3.eval.metrics``
(numpy and the logs only) can be imported without the policies and torch that a run needs.
"""
