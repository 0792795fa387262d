"""Zone polygons as numpy arrays: point-in-polygon, zone lookup and uniform sampling.

A zone is a list of *rings*, each an ``(k, 2)`` float array of ``(lng, lat)`` vertices (GeoJSON
order, closed or not). Rings are combined with the even-odd rule, so holes and multipolygons
need no special marking: a point is inside a zone when a ray from it crosses the zone's edges an
odd number of times. Function arguments, on the other hand, are always ``(lat, lng)``.

The zone file read by :func:`load_zones` is JSON::

    {"crs": "EPSG:4326", "zones": [{"id": 4, "name": "Alphabet City",
                                    "rings": [[[lng, lat], ...], ...]}, ...]}
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from v1d3.geo.projection import EARTH_RADIUS_M
from v1d3.text_files import read_json

__all__ = [
    "Zones",
    "load_zones",
    "points_in_polygon",
    "sample_points_in_zones",
    "zone_of_points",
]

FloatArray = NDArray[np.float64]

_CHUNK_ELEMS = 1 << 20  # points x edges per broadcast block


@dataclass(frozen=True, slots=True)
class _Edges:
    """Non-horizontal edges of one zone (all rings together), ready for ray casting."""

    x1: FloatArray
    y1: FloatArray
    y2: FloatArray
    inv_slope: FloatArray  # dx / dy
    lng_max: float
    lat_min: float
    lat_max: float
    bands: tuple[NDArray[np.int64], ...] = ()
    """Indices of the edges that reach into each of ``len(bands)`` equal horizontal bands
    between ``lat_min`` and ``lat_max`` (empty: test every edge)."""


_EDGES_PER_BAND = 8
_MAX_BANDS = 64


def _banded(e: _Edges) -> _Edges:
    """``e`` with :attr:`_Edges.bands`: a point only needs the edges of its own band, since an
    edge its ray crosses spans the point's latitude."""
    n_bands = min(_MAX_BANDS, e.x1.size // _EDGES_PER_BAND)
    if n_bands < 2 or not e.lat_max > e.lat_min:
        return e
    scale = n_bands / (e.lat_max - e.lat_min)
    lo = np.clip(((np.minimum(e.y1, e.y2) - e.lat_min) * scale).astype(np.int64), 0, n_bands - 1)
    hi = np.clip(((np.maximum(e.y1, e.y2) - e.lat_min) * scale).astype(np.int64), 0, n_bands - 1)
    bands = tuple(np.flatnonzero((lo <= b) & (hi >= b)) for b in range(n_bands))
    return _Edges(e.x1, e.y1, e.y2, e.inv_slope, e.lng_max, e.lat_min, e.lat_max, bands)


def _edges_of(rings: Sequence[ArrayLike]) -> _Edges:
    x1s, y1s, y2s, ks = [], [], [], []
    lng_max, lat_min, lat_max = -np.inf, np.inf, -np.inf
    for ring in rings:
        r = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if r.shape[0] == 0:
            continue
        x1, y1 = r[:, 0], r[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        keep = y1 != y2
        x1s.append(x1[keep])
        y1s.append(y1[keep])
        y2s.append(y2[keep])
        ks.append((x2[keep] - x1[keep]) / (y2[keep] - y1[keep]))
        lng_max = max(lng_max, float(x1.max()))
        lat_min = min(lat_min, float(y1.min()))
        lat_max = max(lat_max, float(y1.max()))
    empty = np.empty(0, dtype=np.float64)
    return _Edges(
        np.concatenate(x1s) if x1s else empty,
        np.concatenate(y1s) if y1s else empty,
        np.concatenate(y2s) if y2s else empty,
        np.concatenate(ks) if ks else empty,
        lng_max,
        lat_min,
        lat_max,
    )


def _inside(px: FloatArray, py: FloatArray, e: _Edges) -> NDArray[np.bool_]:
    """Even-odd test of 1-d point arrays against prepared edges."""
    out = np.zeros(px.shape[0], dtype=bool)
    if e.x1.size == 0 or px.size == 0:
        return out
    cand = np.flatnonzero((py >= e.lat_min) & (py <= e.lat_max) & (px <= e.lng_max))
    if not e.bands:
        _cross(px, py, cand, e, np.arange(e.x1.size), out)
        return out
    n_bands = len(e.bands)
    scale = n_bands / (e.lat_max - e.lat_min)
    band = np.clip(((py[cand] - e.lat_min) * scale).astype(np.int64), 0, n_bands - 1)
    order = np.argsort(band, kind="stable")
    cand = cand[order]
    ends = np.searchsorted(band[order], np.arange(n_bands + 1))
    for b in range(n_bands):
        if ends[b + 1] > ends[b]:
            _cross(px, py, cand[ends[b] : ends[b + 1]], e, e.bands[b], out)
    return out


def _cross(
    px: FloatArray,
    py: FloatArray,
    cand: NDArray[np.int64],
    e: _Edges,
    edges: NDArray[np.int64],
    out: NDArray[np.bool_],
) -> None:
    """``out[cand]`` = odd number of ``edges`` crossed by the ray from each point towards +x."""
    if edges.size == 0:
        return
    x1, y1, y2, k = e.x1[edges], e.y1[edges], e.y2[edges], e.inv_slope[edges]
    step = max(1, _CHUNK_ELEMS // edges.size)
    for s in range(0, cand.size, step):
        c = cand[s : s + step]
        yy = py[c, None]
        spans = (y1 > yy) != (y2 > yy)
        x_cross = x1 + (yy - y1) * k
        hits = np.count_nonzero(spans & (px[c, None] < x_cross), axis=1)
        out[c] = (hits & 1).astype(bool)


def points_in_polygon(
    lat: ArrayLike, lng: ArrayLike, rings: Sequence[ArrayLike]
) -> NDArray[np.bool_]:
    """Even-odd point-in-polygon test, vectorised over points.

    Parameters
    ----------
    lat, lng
        Point coordinates (degrees, or any planar y/x), broadcast together.
    rings
        The polygon's rings, each ``(k, 2)`` in ``(lng, lat)`` order; holes and several parts
        allowed.

    Returns
    -------
    Boolean array of the broadcast shape. Points exactly on an edge may go either way.
    """
    la = np.asarray(lat, dtype=np.float64)
    ln = np.asarray(lng, dtype=np.float64)
    shape = np.broadcast_shapes(la.shape, ln.shape)
    py = np.broadcast_to(la, shape).ravel()
    px = np.broadcast_to(ln, shape).ravel()
    return _inside(px, py, _banded(_edges_of(rings))).reshape(shape)


def _ring_area_centroid(ring: FloatArray, lat0: float, lng0: float) -> tuple[float, float, float]:
    """Absolute area (m^2) and centroid (x, y metres) in an equirectangular plane."""
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    x = (ring[:, 0] - lng0) * kx
    y = (ring[:, 1] - lat0) * ky
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y2 - x2 * y
    a2 = float(cross.sum())
    if a2 == 0.0:
        return 0.0, float(x.mean()), float(y.mean())
    cx = float(((x + x2) * cross).sum()) / (3.0 * a2)
    cy = float(((y + y2) * cross).sum()) / (3.0 * a2)
    return abs(a2) / 2.0, cx, cy


def _zone_geometry(rings: Sequence[FloatArray]) -> tuple[float, float, float, float]:
    """Area (km^2), centroid (lng, lat) and fill fraction of the bbox (in degree space)."""
    allv = np.concatenate(rings)
    w, s = allv.min(axis=0)
    e, n = allv.max(axis=0)
    lat0, lng0 = (s + n) / 2.0, (w + e) / 2.0
    area = sx = sy = 0.0
    for i, r in enumerate(rings):
        a, cx, cy = _ring_area_centroid(r, lat0, lng0)
        # A ring nested in an odd number of the zone's other rings is a hole.
        others = [o for j, o in enumerate(rings) if j != i]
        depth = sum(int(points_in_polygon(r[0, 1], r[0, 0], [o])) for o in others)
        sign = -1.0 if depth % 2 else 1.0
        area += sign * a
        sx += sign * a * cx
        sy += sign * a * cy
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    if area > 0.0:
        c_lng, c_lat = lng0 + sx / area / kx, lat0 + sy / area / ky
    else:
        c_lng, c_lat = lng0, lat0
    box = (e - w) * (n - s) * kx * ky
    fill = area / box if box > 0.0 else 0.0
    return area / 1e6, float(c_lng), float(c_lat), fill


@dataclass(frozen=True, eq=False)
class Zones:
    """A set of zone polygons.

    Attributes
    ----------
    ids
        Zone ids, int64, shape ``(n,)``. A zone's *index* is its position here.
    names
        Zone names.
    rings
        Per zone, a tuple of ``(k, 2)`` float64 ``(lng, lat)`` ring arrays (read-only).
    bbox
        ``(n, 4)`` float64 ``(lng_min, lat_min, lng_max, lat_max)`` (GeoJSON bbox order).
    centroid
        ``(n, 2)`` float64 ``(lng, lat)`` area-weighted centroid (holes subtracted).
    area_km2
        ``(n,)`` polygon areas in km^2.
    """

    ids: NDArray[np.int64]
    names: list[str]
    rings: tuple[tuple[FloatArray, ...], ...]
    bbox: FloatArray
    centroid: FloatArray
    area_km2: FloatArray
    _edges: tuple[_Edges, ...] = field(repr=False)
    _fill: FloatArray = field(repr=False)

    @classmethod
    def from_rings(
        cls, ids: ArrayLike, names: Sequence[str], rings: Sequence[Sequence[ArrayLike]]
    ) -> Zones:
        """Build from per-zone ring lists (``(lng, lat)`` vertices)."""
        id_arr = np.asarray(ids, dtype=np.int64).ravel()
        if not (id_arr.size == len(names) == len(rings)):
            raise ValueError("ids, names and rings must have the same length")
        if np.unique(id_arr).size != id_arr.size:
            raise ValueError("zone ids must be unique")
        frozen_rings: list[tuple[FloatArray, ...]] = []
        bbox = np.empty((id_arr.size, 4))
        centroid = np.empty((id_arr.size, 2))
        area = np.empty(id_arr.size)
        fill = np.empty(id_arr.size)
        for i, zone_rings in enumerate(rings):
            rs = []
            for ring in zone_rings:
                r = np.array(ring, dtype=np.float64).reshape(-1, 2)
                if r.shape[0] < 3:
                    raise ValueError(f"zone {id_arr[i]}: a ring needs at least 3 vertices")
                r.flags.writeable = False
                rs.append(r)
            if not rs:
                raise ValueError(f"zone {id_arr[i]} has no rings")
            frozen_rings.append(tuple(rs))
            allv = np.concatenate(rs)
            bbox[i, :2] = allv.min(axis=0)
            bbox[i, 2:] = allv.max(axis=0)
            area[i], centroid[i, 0], centroid[i, 1], fill[i] = _zone_geometry(rs)
        for a in (id_arr, bbox, centroid, area, fill):
            a.flags.writeable = False
        return cls(
            ids=id_arr,
            names=list(names),
            rings=tuple(frozen_rings),
            bbox=bbox,
            centroid=centroid,
            area_km2=area,
            _edges=tuple(_banded(_edges_of(rs)) for rs in frozen_rings),
            _fill=fill,
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    @property
    def centroid_lat(self) -> FloatArray:
        """Centroid latitudes, ``(n,)``."""
        return self.centroid[:, 1]

    @property
    def centroid_lng(self) -> FloatArray:
        """Centroid longitudes, ``(n,)``."""
        return self.centroid[:, 0]

    def index_of(self, zone_ids: ArrayLike) -> NDArray[np.int64]:
        """Map zone ids to indices (-1 for unknown ids)."""
        q = np.asarray(zone_ids, dtype=np.int64)
        if self.ids.size == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        pos = np.clip(np.searchsorted(sorted_ids, q), 0, sorted_ids.size - 1)
        return np.where(sorted_ids[pos] == q, order[pos], -1).astype(np.int64)

    def contains(self, zone_index: int, lat: ArrayLike, lng: ArrayLike) -> NDArray[np.bool_]:
        """Point-in-zone test for one zone (vectorised over points)."""
        la = np.asarray(lat, dtype=np.float64)
        ln = np.asarray(lng, dtype=np.float64)
        shape = np.broadcast_shapes(la.shape, ln.shape)
        py = np.broadcast_to(la, shape).ravel()
        px = np.broadcast_to(ln, shape).ravel()
        return _inside(px, py, self._edges[zone_index]).reshape(shape)


def zone_of_points(lat: ArrayLike, lng: ArrayLike, zones: Zones) -> NDArray[np.int64]:
    """Index of the zone containing each point, or -1 when none does.

    Where zones overlap, the lowest index wins.
    """
    la = np.asarray(lat, dtype=np.float64)
    ln = np.asarray(lng, dtype=np.float64)
    shape = np.broadcast_shapes(la.shape, ln.shape)
    py = np.broadcast_to(la, shape).ravel()
    px = np.broadcast_to(ln, shape).ravel()
    out = np.full(py.size, -1, dtype=np.int64)
    for i in range(len(zones)):
        w, s, e, n = zones.bbox[i]
        cand = np.flatnonzero((out < 0) & (px >= w) & (px <= e) & (py >= s) & (py <= n))
        if cand.size:
            hit = _inside(px[cand], py[cand], zones._edges[i])
            out[cand[hit]] = i
    return out.reshape(shape)


def _sample_one_zone(
    zones: Zones, i: int, k: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    w, s, e, n = zones.bbox[i]
    sin_lo, sin_hi = math.sin(math.radians(s)), math.sin(math.radians(n))
    fill = max(float(zones._fill[i]), 0.02)
    lats: list[FloatArray] = []
    lngs: list[FloatArray] = []
    have = 0
    for _ in range(10_000):
        batch = int(math.ceil((k - have) / fill * 1.25)) + 16
        # sin(lat) uniform => uniform in area on the sphere.
        cand_lat = np.degrees(np.arcsin(rng.uniform(sin_lo, sin_hi, batch)))
        cand_lng = rng.uniform(w, e, batch)
        ok = _inside(cand_lng, cand_lat, zones._edges[i])
        lats.append(cand_lat[ok])
        lngs.append(cand_lng[ok])
        have += int(ok.sum())
        if have >= k:
            return np.concatenate(lats)[:k], np.concatenate(lngs)[:k]
    raise RuntimeError(f"could not sample inside zone index {i} (degenerate polygon?)")


def sample_points_in_zones(
    zone_index: ArrayLike, zones: Zones, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw one point uniformly (by area) inside the zone named by each entry of ``zone_index``.

    Rejection sampling in each zone's bounding box, grouped by zone (ascending index) and drawn
    in batches until enough points are accepted. Deterministic for a given ``rng`` state.

    Returns
    -------
    lat, lng
        Arrays with the shape of ``zone_index``.
    """
    idx = np.asarray(zone_index, dtype=np.int64)
    flat = idx.ravel()
    if flat.size and (flat.min() < 0 or flat.max() >= len(zones)):
        raise IndexError("zone index out of range")
    lat = np.empty(flat.size, dtype=np.float64)
    lng = np.empty(flat.size, dtype=np.float64)
    order = np.argsort(flat, kind="stable")
    uniq, starts, counts = np.unique(flat[order], return_index=True, return_counts=True)
    for z, st, k in zip(uniq.tolist(), starts.tolist(), counts.tolist(), strict=True):
        pos = order[st : st + k]
        lat[pos], lng[pos] = _sample_one_zone(zones, z, k, rng)
    return lat.reshape(idx.shape), lng.reshape(idx.shape)


def load_zones(path: str | os.PathLike[str]) -> Zones:
    """Read a zone JSON file (``{"crs": "EPSG:4326", "zones": [...]}``) into :class:`Zones`."""
    doc = read_json(path, "zone file")
    crs = doc.get("crs", "EPSG:4326")
    if crs != "EPSG:4326":
        raise ValueError(f"{path}: expected EPSG:4326 coordinates, got {crs}")
    zs = doc["zones"]
    return Zones.from_rings(
        [int(z["id"]) for z in zs],
        [str(z["name"]) for z in zs],
        [z["rings"] for z in zs],
    )
