"""Evaluation: one run (:mod:`v1d3.eval.run`), studies of many (:mod:`v1d3.eval.evaluate`), the
figures of a run (:mod:`v1d3.eval.metrics`), statistics over runs (:mod:`v1d3.eval.summary`) and
the report (:mod:`v1d3.eval.report`).

Import from the modules: the package itself loads none of them, so that ``v1d3.eval.metrics``
(numpy and the logs only) can be imported without the policies and torch that a run needs.
"""
