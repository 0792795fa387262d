"""The simulator: KDD Cup 2020 semantics, one 2-second dispatch round at a time.

- :mod:`~v1d3.sim.engine` — the loop as a steppable :class:`~v1d3.sim.engine.Simulator`;
- :mod:`~v1d3.sim.state` — driver and order state as numpy columns;
- :mod:`~v1d3.sim.candidates` — the candidate search (nearest available drivers of each order);
- :mod:`~v1d3.sim.seeds` — every random stream of a run, derived from (seed, weekday);
- :mod:`~v1d3.sim.config` — the typed simulation config (round length, patience, pickup
  radius, cancellations, idle drift, repositioning rule, shifts);
- :mod:`~v1d3.sim.scenario`, :mod:`~v1d3.sim.fleet` — scenarios (a city, a day of orders and a
  fleet built from a typed config) and driver shifts;
- :mod:`~v1d3.sim.log` — the run's logs (every change of money or driver state, as columns);
  :mod:`~v1d3.sim.checker` — the invariant checker that validates a finished run from its logs
  alone.

The model is written out in docs/simulation.md; the log schema in docs/log-schema.md.
"""
