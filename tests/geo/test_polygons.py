"""Point-in-polygon, zone lookup and sampling on small hand-made zones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from v1d3.geo.polygons import (
    Zones,
    load_zones,
    points_in_polygon,
    sample_points_in_zones,
    zone_of_points,
)

# Rings are (lng, lat). A 2x2 square with a 1x1 hole in the middle (hole given clockwise,
# outer counter-clockwise, but orientation must not matter for the even-odd rule).
OUTER = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]]
HOLE = [[0.5, 0.5], [0.5, 1.5], [1.5, 1.5], [1.5, 0.5], [0.5, 0.5]]
ISLAND = [[3.0, 0.0], [4.0, 0.0], [4.0, 1.0], [3.0, 1.0]]  # second part, unclosed


def _zones() -> Zones:
    # zone 10: square with hole plus a separate island; zone 20: the hole itself.
    return Zones.from_rings([10, 20], ["donut", "hole"], [[OUTER, HOLE, ISLAND], [HOLE]])


def test_square_with_hole() -> None:
    lat = np.array([0.25, 1.0, 1.75, 1.0, 0.5, 3.0, 0.5, -0.1])
    lng = np.array([0.25, 1.0, 1.0, 1.75, 3.5, 1.0, 4.5, 1.0])
    want = np.array([True, False, True, True, True, False, False, False])
    got = points_in_polygon(lat, lng, [OUTER, HOLE, ISLAND])
    np.testing.assert_array_equal(got, want)
    # Without the hole the centre is inside.
    assert points_in_polygon(1.0, 1.0, [OUTER])
    assert points_in_polygon(1.0, 1.0, [OUTER]).shape == ()


def test_many_edged_rings_agree_with_the_radius_test() -> None:
    # a 400-gon annulus with a wobbly outer rim: enough edges that the test works band by band
    a = np.linspace(0.0, 2 * np.pi, 401)[:-1]
    r_out = 1.0 + 0.1 * np.sin(7 * a)
    outer = np.column_stack((r_out * np.cos(a), r_out * np.sin(a)))
    hole = np.column_stack((0.4 * np.cos(a[::-1]), 0.4 * np.sin(a[::-1])))
    rng = np.random.default_rng(3)
    lat, lng = rng.uniform(-1.2, 1.2, (2, 20_000))
    rad = np.hypot(lng, lat)
    r_rim = 1.0 + 0.1 * np.sin(7 * np.arctan2(lat, lng))
    clear = (np.abs(rad - 0.4) > 0.01) & (np.abs(rad - r_rim) > 0.01)  # off the polygon edges
    got = points_in_polygon(lat, lng, [outer, hole])
    np.testing.assert_array_equal(got[clear], ((rad > 0.4) & (rad < r_rim))[clear])


def test_points_in_polygon_broadcasts_2d() -> None:
    # Grid steps chosen so that no point lies on an edge.
    lat = np.arange(-0.45, 2.5, 0.3)[:, None]
    lng = np.arange(-0.35, 2.5, 0.2)[None, :]
    got = points_in_polygon(lat, lng, [OUTER, HOLE])
    assert got.shape == (10, 15)
    assert got.any() and not got.all()
    la, ln = np.broadcast_arrays(lat, lng)
    inner = (la > 0.5) & (la < 1.5) & (ln > 0.5) & (ln < 1.5)
    want = (la > 0) & (la < 2) & (ln > 0) & (ln < 2) & ~inner
    np.testing.assert_array_equal(got, want)


def test_zone_geometry() -> None:
    z = _zones()
    assert len(z) == 2
    np.testing.assert_array_equal(z.ids, [10, 20])
    np.testing.assert_allclose(z.bbox[0], [0.0, 0.0, 4.0, 2.0])
    # Donut centroid is the square centre pulled towards the island: areas 3 (at 1,1) and 1
    # (at 3.5, 0.5) -> lng (3 + 3.5) / 4, lat (3 + 0.5) / 4, up to the equirectangular scaling.
    assert z.centroid_lng[0] == pytest.approx(6.5 / 4, abs=0.01)
    assert z.centroid_lat[0] == pytest.approx(3.5 / 4, abs=0.01)
    np.testing.assert_allclose(z.centroid[1], [1.0, 1.0], atol=1e-9)
    assert z.area_km2[0] == pytest.approx(4 * z.area_km2[1], rel=0.01)  # square - hole + island
    np.testing.assert_array_equal(z.index_of([20, 10, 99]), [1, 0, -1])


def test_zone_of_points() -> None:
    z = _zones()
    lat = np.array([0.25, 1.0, 0.5, 5.0])
    lng = np.array([0.25, 1.0, 3.5, 5.0])
    np.testing.assert_array_equal(zone_of_points(lat, lng, z), [0, 1, 0, -1])
    assert zone_of_points(np.empty(0), np.empty(0), z).shape == (0,)


def test_sampling_inside_and_deterministic() -> None:
    z = _zones()
    idx = np.array([0, 1, 0, 1, 1, 0] * 200)
    lat1, lng1 = sample_points_in_zones(idx, z, np.random.default_rng(7))
    lat2, lng2 = sample_points_in_zones(idx, z, np.random.default_rng(7))
    np.testing.assert_array_equal(lat1, lat2)
    np.testing.assert_array_equal(lng1, lng2)
    np.testing.assert_array_equal(zone_of_points(lat1, lng1, z), idx)
    lat3, _ = sample_points_in_zones(idx, z, np.random.default_rng(8))
    assert not np.array_equal(lat1, lat3)
    # Uniform by area: a quarter of the donut's area is on the island.
    on_island = lng1[idx == 0] > 2.5
    assert 0.17 < on_island.mean() < 0.33


def test_sampling_shapes_and_errors() -> None:
    z = _zones()
    lat, lng = sample_points_in_zones(np.array([[0, 1], [1, 1]]), z, np.random.default_rng(0))
    assert lat.shape == lng.shape == (2, 2)
    lat, _ = sample_points_in_zones(np.array([], dtype=int), z, np.random.default_rng(0))
    assert lat.shape == (0,)
    with pytest.raises(IndexError):
        sample_points_in_zones(np.array([2]), z, np.random.default_rng(0))


def test_load_zones(tmp_path: Path) -> None:
    doc = {
        "crs": "EPSG:4326",
        "zones": [
            {"id": 7, "name": "seven", "rings": [OUTER, HOLE]},
            {"id": 3, "name": "three", "rings": [ISLAND]},
        ],
    }
    path = tmp_path / "z.json"
    path.write_text(json.dumps(doc))
    z = load_zones(path)
    np.testing.assert_array_equal(z.ids, [7, 3])
    assert z.names == ["seven", "three"]
    assert len(z.rings[0]) == 2 and z.rings[0][0].shape == (5, 2)
    assert not z.rings[0][0].flags.writeable
    doc["crs"] = "EPSG:2263"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError):
        load_zones(path)
