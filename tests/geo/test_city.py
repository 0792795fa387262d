"""City.cell_of: a large query of repeated points (a KDD round's) is answered as one point at a
time would be, inside the city and outside it."""

from __future__ import annotations

import h3
import numpy as np

from v1d3.geo import city as city_module
from v1d3.geo.city import h3_city


def test_repeated_points_are_looked_up_as_one_at_a_time() -> None:
    centre = h3.latlng_to_cell(40.75, -73.98, 8)
    town = h3_city("town", sorted(h3.grid_disk(centre, 3)))
    rng = np.random.default_rng(7)
    places = np.column_stack([40.75 + rng.normal(0, 0.02, 300), -73.98 + rng.normal(0, 0.02, 300)])
    pick = rng.integers(0, len(places), 5000)  # many points, few places; some far outside
    lat, lng = places[pick, 0], places[pick, 1]
    assert lat.size > city_module._DEDUPLICATE_ABOVE
    got = town.cell_of(lat, lng)
    one = [town.cell_of(np.array([a]), np.array([b]))[0] for a, b in zip(lat, lng, strict=True)]
    one_by_one = np.array(one)
    assert np.array_equal(got, one_by_one)
    grid = town.cell_of(lat.reshape(50, 100), lng.reshape(50, 100))  # shape kept
    assert np.array_equal(grid.ravel(), got)
