"""Demand: one day of orders for a city, from each scenario source.

:mod:`~v1d3.demand.config` holds :class:`~v1d3.demand.config.ScenarioConfig` (which city and
day) with one small config per source (``ManhattanConfig``, ``TlcConfig``, ``SyntheticConfig``,
``KddConfig``); :mod:`~v1d3.demand.source` the protocol every source follows
(:class:`~v1d3.demand.source.DemandSource`: ``describe``, ``city``, ``day``), the
:class:`~v1d3.demand.source.DemandDay` it returns and the order subsampling;
:mod:`~v1d3.demand.registry` the sources by name. :class:`~v1d3.demand.orders.Orders` holds a
day of orders as columns (request time, origin and destination, trip time and distance, fare,
optional per-order cancellation curve), with the KDD Cup 2020 cancellation curve. The sources:
``manhattan`` (the real 2018 origin–destination table, zone speeds and meter), ``nyc-tlc``
(replay of NYC TLC trip records, and their conversion to the event log), ``synthetic`` (a
parametric hexagonal city) — the ``kdd`` source lives in :mod:`v1d3.kddcup`. Fare rules too. The
model is described in docs/simulation.md.
"""
