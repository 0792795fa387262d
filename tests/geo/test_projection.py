"""Projections against reference points computed with pyproj 3.7.2 (PROJ 9.5.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v1d3.geo.projection import (
    EARTH_RADIUS_M,
    LocalProjection,
    haversine_m,
    lcc_to_latlng,
    ny_longisland_ftus_to_latlng,
    utm_to_latlng,
)

# (easting m, northing m) -> (lat, lng), EPSG:32618 -> EPSG:4326 with pyproj.
UTM18N_REF = [
    (585000.0, 4511000.0, 40.745560810, -73.993186445),  # Midtown Manhattan
    (250000.0, 4500000.0, 40.613030282, -77.955178106),  # 250 km west of the central meridian
    (820000.0, 6100000.0, 54.944033645, -70.002332820),  # far north-east
]
# EPSG:32756 (UTM 56S) -> EPSG:4326, Sydney.
UTM56S_REF = (334786.0, 6252080.0, -33.858663917, 151.214022861)
# (x ftUS, y ftUS) -> (lat, lng), EPSG:2263 -> EPSG:4326 with pyproj.
LI_FTUS_REF = [
    (988000.0, 215000.0, 40.756800997, -73.986464272),  # Times Square area
    (1040000.0, 175000.0, 40.646835709, -73.799100331),  # JFK airport
    (984250.0, 0.0, 40.166666667, -74.000000000),  # the projection's origin
    (920000.0, 260000.0, 40.880080241, -74.232342416),  # New Jersey, west of the zone
]


def _err_m(lat: np.ndarray, lng: np.ndarray, lat_ref: float, lng_ref: float) -> float:
    return float(np.max(haversine_m(lat, lng, lat_ref, lng_ref)))


@pytest.mark.parametrize(("e", "n", "lat", "lng"), UTM18N_REF)
def test_utm_inverse_matches_pyproj(e: float, n: float, lat: float, lng: float) -> None:
    got_lat, got_lng = utm_to_latlng(e, n, 18)
    assert _err_m(got_lat, got_lng, lat, lng) < 0.01


def test_utm_southern_and_vectorised() -> None:
    e, n, lat, lng = UTM56S_REF
    got_lat, got_lng = utm_to_latlng(np.array([e, e]), np.array([n, n]), 56, northern=False)
    assert got_lat.shape == (2,)
    assert _err_m(got_lat, got_lng, lat, lng) < 0.01
    # Forgetting the hemisphere puts the point ~10,000 km away.
    wrong_lat, _ = utm_to_latlng(e, n, 56, northern=True)
    assert wrong_lat > 0


def test_utm_rejects_bad_zone() -> None:
    with pytest.raises(ValueError):
        utm_to_latlng(500000.0, 0.0, 61)


@pytest.mark.parametrize(("x", "y", "lat", "lng"), LI_FTUS_REF)
def test_lcc_inverse_matches_pyproj(x: float, y: float, lat: float, lng: float) -> None:
    got_lat, got_lng = ny_longisland_ftus_to_latlng(x, y)
    assert _err_m(got_lat, got_lng, lat, lng) < 0.01
    d_lat, d_lng = lcc_to_latlng(x, y)  # defaults are EPSG:2263
    assert _err_m(d_lat, d_lng, lat, lng) < 0.01


def test_lcc_units_matter() -> None:
    # Treating feet as metres must move the point far away (guards the unit conversion).
    x, y, lat, lng = LI_FTUS_REF[0]
    got_lat, got_lng = lcc_to_latlng(x * 1200.0 / 3937.0, y * 1200.0 / 3937.0, unit_m=1.0)
    assert _err_m(got_lat, got_lng, lat, lng) < 0.01
    bad_lat, bad_lng = lcc_to_latlng(x, y, unit_m=1.0)
    assert _err_m(bad_lat, bad_lng, lat, lng) > 10_000


def test_haversine_hand_values() -> None:
    one_deg = EARTH_RADIUS_M * math.pi / 180.0  # 111,195.080 m
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195.0802, abs=1e-3)
    assert haversine_m(10.0, 20.0, 11.0, 20.0) == pytest.approx(one_deg, rel=1e-12)
    assert haversine_m(0.0, 0.0, 90.0, 0.0) == pytest.approx(10_007_557.22, abs=0.01)
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    # 1 degree of longitude at latitude 60 (small-arc limit ~ half a degree at the equator).
    lat = 60.0
    c = math.cos(math.radians(lat))
    exact = 2 * EARTH_RADIUS_M * math.asin(c * math.sin(math.radians(0.5)))
    assert haversine_m(lat, 0.0, lat, 1.0) == pytest.approx(exact, rel=1e-12)
    assert exact == pytest.approx(one_deg / 2, rel=1e-4)


def test_haversine_broadcasts_and_is_symmetric() -> None:
    lat = np.array([40.70, 40.75, 40.80])
    lng = np.array([-74.00, -73.98, -73.95])
    d = haversine_m(lat[:, None], lng[:, None], lat[None, :], lng[None, :])
    assert d.shape == (3, 3)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)


def test_local_projection_round_trip_and_scale() -> None:
    p = LocalProjection(40.75, -73.98)
    rng = np.random.default_rng(1)
    lat = 40.75 + rng.uniform(-0.1, 0.1, 100)
    lng = -73.98 + rng.uniform(-0.1, 0.1, 100)
    x, y = p.to_xy(lat, lng)
    lat2, lng2 = p.to_latlng(x, y)
    np.testing.assert_allclose(lat2, lat, atol=1e-12)
    np.testing.assert_allclose(lng2, lng, atol=1e-12)
    x0, y0 = p.to_xy(40.75, -73.98)
    assert float(x0) == 0.0 and float(y0) == 0.0
    # Planar distances agree with great-circle ones to 0.1 % over ~10 km.
    d_plane = np.hypot(x - x[0], y - y[0])[1:]
    d_sphere = haversine_m(lat[0], lng[0], lat[1:], lng[1:])
    np.testing.assert_allclose(d_plane, d_sphere, rtol=1e-3)
    # North is +y, east is +x.
    assert p.to_xy(40.76, -73.98)[1] > 0
    assert p.to_xy(40.75, -73.97)[0] > 0


def test_local_projection_is_frozen() -> None:
    p = LocalProjection(40.0, -74.0)
    with pytest.raises(AttributeError):
        p.lat0 = 41.0  # type: ignore[misc]
    assert p == LocalProjection(40.0, -74.0)
