"""Repositioning: where managed drivers that have been idle long enough should go.

The decision contract (:class:`~v1d3.reposition.base.RepositionPolicy`: a
:class:`~v1d3.reposition.base.RepositionBatch` of due drivers in, one destination cell each
out, its own cell meaning stay), the baselines (``stay``, ``random``, ``demand``;
docs/method.md §11) and destinations sampled from a value function (``value``, docs/method.md
§4).
"""
