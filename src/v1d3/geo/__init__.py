"""Geography: the city and how to move in it.

A :class:`~v1d3.geo.city.City` is a set of cells (H3 hexagons, or the hexagons of a given grid
such as a KDD Cup 2020 table) with their neighbours, centres, zones and a travel model. Beside
it: zone polygons (point-in-polygon, uniform sampling), map projections and distances, and
travel-time models (constant speed, zone-pair speeds on a rotated street grid). Pure numpy;
nothing here knows about orders, drivers or policies.
"""
