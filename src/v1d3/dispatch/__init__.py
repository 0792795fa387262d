"""Dispatching: which available driver serves which waiting order, every round.

The decision contract (:class:`~v1d3.dispatch.base.DispatchPolicy`, one round's
:class:`~v1d3.dispatch.base.CandidateBatch` in, a one-to-one matching out, the day's
:class:`~v1d3.dispatch.base.DayContext` and the round's outcome), candidate search (the K
nearest available drivers within the pickup radius), exact and greedy matching, the baselines
(``fcfs``, ``nearest``, ``distance``, ``fare``) and dispatching on the advantages of a value
function (docs/method.md §3).
"""
