"""The simulator: KDD Cup 2020 semantics, one 2-second dispatch round at a time.

The typed simulation config (:class:`~v1d3.sim.config.SimConfig`: round length, patience,
pickup radius, cancellations, idle drift, repositioning rule, shifts), scenarios (a city, a day
of orders and a fleet built from a typed config), driver shifts, the loop itself, the run's logs
(every change of money or driver state, as columns) and the invariant checker that validates a
finished run from its logs alone. The model is written out in docs/simulation.md; the log
schema in docs/log-schema.md.
"""
