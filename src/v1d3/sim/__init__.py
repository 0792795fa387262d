"""The simulator: one day of a scenario, round by round.

- :mod:`~v1d3.sim.engine` — the 2-second loop as a steppable :class:`~v1d3.sim.engine.Simulator`;
- :mod:`~v1d3.sim.state` — driver and order state as numpy columns;
- :mod:`~v1d3.sim.candidates` — the candidate search (nearest available drivers of each order);
- :mod:`~v1d3.sim.seeds` — every random stream of a run, derived from (seed, weekday);
- :mod:`~v1d3.sim.scenario`, :mod:`~v1d3.sim.fleet`, :mod:`~v1d3.sim.config` — the day's
  orders and drivers, and the platform's settings;
- :mod:`~v1d3.sim.log` — the run's logs; :mod:`~v1d3.sim.checker` — their invariants.
"""
