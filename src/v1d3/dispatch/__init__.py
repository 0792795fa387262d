"""Dispatching: which available driver serves which waiting order, every round.

The decision contract (:class:`~v1d3.dispatch.base.DispatchPolicy`: one round's
:class:`~v1d3.rounds.CandidateBatch` in, a one-to-one matching out; the round types themselves
live in :mod:`v1d3.rounds`, the candidate search that builds the batch in
:mod:`v1d3.sim.candidates`), exact and greedy matching (:mod:`~v1d3.dispatch.matching`), the
baselines ``fcfs``, ``nearest``, ``distance``, ``fare`` (:mod:`~v1d3.dispatch.baselines`) and
advantage-weighted matching on a value function (:mod:`~v1d3.dispatch.advantage`,
docs/method.md §3).
"""
