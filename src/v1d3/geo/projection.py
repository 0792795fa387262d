"""Map projections and distances, pure numpy and vectorised.

Inverse projections (used when building the packaged zone polygons):

* :func:`utm_to_latlng`: inverse transverse Mercator (UTM) on WGS84, Krüger series to fourth
  order in the third flattening; error far below a millimetre inside a UTM zone.
* :func:`lcc_to_latlng`: inverse Lambert Conformal Conic (2SP); the defaults are EPSG:2263,
  NAD83 / New York Long Island (ftUS), the CRS of the TLC taxi-zone shapefile.
  :func:`ny_longisland_ftus_to_latlng` is the same with the defaults spelled out.

The NAD83 -> WGS84 datum shift (about 1 m in New York) is ignored, as PROJ does by default.

Hot-path helpers (used by the simulator): :func:`haversine_m` and :class:`LocalProjection`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EARTH_RADIUS_M",
    "jitter_latlng",
    "US_SURVEY_FOOT_M",
    "WGS84_A",
    "WGS84_F",
    "GRS80_A",
    "GRS80_F",
    "LocalProjection",
    "haversine_m",
    "lcc_to_latlng",
    "ny_longisland_ftus_to_latlng",
    "utm_to_latlng",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG R1) in metres."""
US_SURVEY_FOOT_M = 1200.0 / 3937.0
"""One US survey foot in metres."""
WGS84_A = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
GRS80_A = 6_378_137.0
GRS80_F = 1.0 / 298.257222101

_UTM_K0 = 0.9996
_UTM_FALSE_EASTING = 500_000.0
_UTM_FALSE_NORTHING_SOUTH = 10_000_000.0

FloatArray = NDArray[np.float64]


def utm_to_latlng(
    easting_m: ArrayLike,
    northing_m: ArrayLike,
    zone: int,
    northern: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Inverse UTM on WGS84.

    Parameters
    ----------
    easting_m, northing_m
        UTM coordinates in metres (false easting 500 km; false northing 10,000 km if southern).
    zone
        UTM zone number, 1-60.
    northern
        True for the northern hemisphere.

    Returns
    -------
    lat, lng
        Degrees, arrays broadcast from the inputs.
    """
    if not 1 <= int(zone) <= 60:
        raise ValueError(f"UTM zone must be in 1..60, got {zone}")
    e = np.asarray(easting_m, dtype=np.float64)
    n_ = np.asarray(northing_m, dtype=np.float64)
    lng0 = math.radians(6.0 * int(zone) - 183.0)
    fn = 0.0 if northern else _UTM_FALSE_NORTHING_SOUTH
    n = WGS84_F / (2.0 - WGS84_F)
    n2, n3, n4 = n * n, n**3, n**4
    big_a = WGS84_A / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0)
    beta = (
        n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
        n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
        17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
        4397.0 * n4 / 161280.0,
    )
    delta = (
        2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
        7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
        56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
        4279.0 * n4 / 630.0,
    )
    xi = (n_ - fn) / (_UTM_K0 * big_a)
    eta = (e - _UTM_FALSE_EASTING) / (_UTM_K0 * big_a)
    xi_p, eta_p = xi, eta
    for j, b in enumerate(beta, start=1):
        xi_p = xi_p - b * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
        eta_p = eta_p - b * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
    chi = np.arcsin(np.sin(xi_p) / np.cosh(eta_p))
    phi = chi
    for j, d in enumerate(delta, start=1):
        phi = phi + d * np.sin(2 * j * chi)
    lam = lng0 + np.arctan2(np.sinh(eta_p), np.cos(xi_p))
    return np.degrees(phi), np.degrees(lam)


def _lcc_t(phi: float, e: float) -> float:
    s = math.sin(phi)
    return math.tan(math.pi / 4.0 - phi / 2.0) / ((1.0 - e * s) / (1.0 + e * s)) ** (e / 2.0)


def _lcc_m(phi: float, e: float) -> float:
    s = math.sin(phi)
    return math.cos(phi) / math.sqrt(1.0 - e * e * s * s)


def lcc_to_latlng(
    x: ArrayLike,
    y: ArrayLike,
    *,
    lat_1: float = 41.0 + 2.0 / 60.0,
    lat_2: float = 40.0 + 40.0 / 60.0,
    lat_0: float = 40.0 + 10.0 / 60.0,
    lon_0: float = -74.0,
    x_0_m: float = 300_000.0,
    y_0_m: float = 0.0,
    unit_m: float = US_SURVEY_FOOT_M,
    a: float = GRS80_A,
    f: float = GRS80_F,
) -> tuple[FloatArray, FloatArray]:
    """Inverse Lambert Conformal Conic (two standard parallels), ellipsoidal (Snyder 15-7).

    Defaults are EPSG:2263 (NAD83 / New York Long Island, US survey feet).

    Parameters
    ----------
    x, y
        Projected coordinates in units of ``unit_m`` metres (US survey feet by default).
    lat_1, lat_2, lat_0, lon_0
        Standard parallels, latitude of origin and central meridian, degrees.
    x_0_m, y_0_m
        False easting and northing in metres.
    unit_m
        Length of one input unit in metres.
    a, f
        Ellipsoid semi-major axis (m) and flattening.

    Returns
    -------
    lat, lng
        Degrees.
    """
    e = math.sqrt(f * (2.0 - f))
    p1, p2, p0 = math.radians(lat_1), math.radians(lat_2), math.radians(lat_0)
    m1, m2 = _lcc_m(p1, e), _lcc_m(p2, e)
    t1, t2, t0 = _lcc_t(p1, e), _lcc_t(p2, e), _lcc_t(p0, e)
    if abs(p1 - p2) < 1e-12:
        n = math.sin(p1)
    else:
        n = (math.log(m1) - math.log(m2)) / (math.log(t1) - math.log(t2))
    big_f = m1 / (n * t1**n)
    rho0 = a * big_f * t0**n
    xm = np.asarray(x, dtype=np.float64) * unit_m - x_0_m
    ym = rho0 - (np.asarray(y, dtype=np.float64) * unit_m - y_0_m)
    sgn = 1.0 if n > 0 else -1.0
    rho = sgn * np.hypot(xm, ym)
    theta = np.arctan2(sgn * xm, sgn * ym)
    t = (rho / (a * big_f)) ** (1.0 / n)
    phi = np.pi / 2.0 - 2.0 * np.arctan(t)
    half_e = e / 2.0
    for _ in range(15):
        s = e * np.sin(phi)
        new = np.pi / 2.0 - 2.0 * np.arctan(t * ((1.0 - s) / (1.0 + s)) ** half_e)
        done = np.max(np.abs(new - phi), initial=0.0) < 1e-14
        phi = new
        if done:
            break
    lam = theta / n + math.radians(lon_0)
    return np.degrees(phi), np.degrees(lam)


def ny_longisland_ftus_to_latlng(x_ft: ArrayLike, y_ft: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """EPSG:2263 (NY State Plane Long Island, NAD83, US survey feet) to (lat, lng) degrees."""
    return lcc_to_latlng(
        x_ft,
        y_ft,
        lat_1=41.0 + 2.0 / 60.0,
        lat_2=40.0 + 40.0 / 60.0,
        lat_0=40.0 + 10.0 / 60.0,
        lon_0=-74.0,
        x_0_m=300_000.0,
        y_0_m=0.0,
        unit_m=US_SURVEY_FOOT_M,
        a=GRS80_A,
        f=GRS80_F,
    )


def haversine_m(lat1: ArrayLike, lng1: ArrayLike, lat2: ArrayLike, lng2: ArrayLike) -> np.ndarray:
    """Great-circle distance in metres on a sphere of radius :data:`EARTH_RADIUS_M`.

    Inputs are degrees and broadcast against each other.
    """
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    s_dlat = np.sin((p2 - p1) * 0.5)
    s_dlng = np.sin(np.radians(np.subtract(lng2, lng1)) * 0.5)
    h = s_dlat * s_dlat + np.cos(p1) * np.cos(p2) * s_dlng * s_dlng
    return (2.0 * EARTH_RADIUS_M) * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """Equirectangular projection about ``(lat0, lng0)``, in metres (x east, y north).

    Good to about 0.1 % over a city (tens of km); exact inverse of itself.
    """

    lat0: float
    lng0: float
    kx: float = field(init=False, repr=False, compare=False)
    ky: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ky = EARTH_RADIUS_M * math.pi / 180.0
        object.__setattr__(self, "ky", ky)
        object.__setattr__(self, "kx", ky * math.cos(math.radians(self.lat0)))

    def to_xy(self, lat: ArrayLike, lng: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Degrees to local metres."""
        return (np.subtract(lng, self.lng0) * self.kx, np.subtract(lat, self.lat0) * self.ky)

    def to_latlng(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Local metres to degrees ``(lat, lng)``."""
        return (np.divide(y, self.ky) + self.lat0, np.divide(x, self.kx) + self.lng0)


JITTER_M_PER_DEG = 111_195.0
"""Metres per degree of latitude used to jitter points (the sphere's 111,195.08, rounded)."""


def jitter_latlng(
    lat: np.ndarray, lng: np.ndarray, sd_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points moved by normal noise of ``sd_m`` metres per axis (one ``(n, 2)`` draw from
    ``rng``: north, then east), so that points drawn near one place do not sit on it."""
    j = rng.normal(0.0, sd_m, size=(lat.size, 2))
    lat = np.asarray(lat)
    m_per_deg_lng = JITTER_M_PER_DEG * np.cos(np.deg2rad(lat))
    return lat + j[:, 0] / JITTER_M_PER_DEG, np.asarray(lng) + j[:, 1] / m_per_deg_lng
