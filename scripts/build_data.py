#!/usr/bin/env python
"""Rebuild the NYC data shipped in ``src/v1d3/data/`` from the original files.

Usage (from the repository root)::

    python scripts/build_data.py [--shared DIR]

Inputs (read-only): ``<shared>/nyc-manhattan-od-2018/`` (pyhailing 0.0.9 tables) and
``<shared>/nyc-tlc-green-2021q1/`` (TLC trip records, zone lookup and shapefile).

Outputs, each written to a temporary file and then renamed, byte-for-byte deterministic:

* ``manhattan_od.npz``: OD trip counts and zone-to-zone speeds (see :func:`build_manhattan_od`)
* ``manhattan_zones.json``: the 61 Manhattan zone polygons in WGS84
* ``nyc_tlc/green_tripdata_2021-03.parquet``, ``nyc_tlc/taxi_zone_lookup.csv``: copies
* ``nyc_tlc/taxi_zones.json``: all TLC zones with a polygon, WGS84, Douglas-Peucker simplified
* ``LICENSE-pyhailing`` and ``NOTICE.md``

``day_departures.json`` (real days' departures, from the three monthly TLC files) is written by
``scripts/day_departures.py --shared DIR``, which needs the package.

Needs only the standard library, numpy and pyarrow. The shapefile is read by the minimal reader
below; the projections come from ``src/v1d3/geo/projection.py`` (pure numpy), loaded by path.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import io
import json
import math
import os
import shutil
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "v1d3" / "data"
DEFAULT_SHARED = ROOT.parent / "shared" / "data"

MANHATTAN_DIR = "nyc-manhattan-od-2018"
TLC_DIR = "nyc-tlc-green-2021q1"
GREEN_PARQUET = "green_tripdata_2021-03.parquet"
GREEN_SHA256 = "78847a2e0ccb58202eef3337903e696317656815f50423733ad3099dabc58a9d"

N_WEEKDAYS = 5
N_SLOTS = 96
SLOT_MIN = 15
DP_TOLERANCE_M = 10.0
DECIMALS = 6
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _load_projection() -> Any:
    """Import ``v1d3.geo.projection`` by file path (no package ``__init__`` side effects)."""
    path = ROOT / "src" / "v1d3" / "geo" / "projection.py"
    spec = importlib.util.spec_from_file_location("_v1d3_projection", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


proj = _load_projection()


# --------------------------------------------------------------------------- atomic writing


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_bytes(path: Path, data: bytes) -> None:
    _write_atomic(path, lambda fh: fh.write(data))


def _copy_file(src: Path, dst: Path) -> None:
    def write(fh: IO[bytes]) -> None:
        with open(src, "rb") as fin:
            shutil.copyfileobj(fin, fh)

    _write_atomic(dst, write)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Same format as ``np.savez_compressed``, but with fixed timestamps (reproducible bytes)."""

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:
            for key, val in arrays.items():
                info = zipfile.ZipInfo(key + ".npy", date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.ascontiguousarray(val), allow_pickle=False)

    _write_atomic(path, write)


def _zones_json(zones: list[dict[str, Any]]) -> bytes:
    """The zone file: one zone per line, compact separators."""
    # strict JSON (allow_nan=False) as v1d3.text_files.json_text writes it; this builder imports
    # no package module
    lines = [json.dumps(z, separators=(",", ":"), allow_nan=False) for z in zones]
    return ('{"crs":"EPSG:4326","zones":[\n' + ",\n".join(lines) + "\n]}\n").encode("ascii")


# --------------------------------------------------------------------------- geometry helpers


def _ring_latlng_to_list(lat: np.ndarray, lng: np.ndarray) -> list[list[float]]:
    """Round to DECIMALS, drop repeated vertices, close the ring; at least 4 points."""
    pts = np.round(np.column_stack([lng, lat]), DECIMALS)
    if pts.shape[0] > 1:
        keep = np.ones(pts.shape[0], dtype=bool)
        keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
        pts = pts[keep]
    if pts.shape[0] > 1 and np.all(pts[0] == pts[-1]):
        pts = pts[:-1]
    if pts.shape[0] < 3:
        raise ValueError(f"ring collapsed to {pts.shape[0]} distinct vertices")
    pts = np.vstack([pts, pts[:1]])
    return [[float(x), float(y)] for x, y in pts.tolist()]


def _seg_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` (m, 2) to the segment ``a``-``b``."""
    ab = b - a
    ap = p - a
    den = float(ab @ ab)
    t = np.zeros(p.shape[0]) if den == 0.0 else np.clip((ap @ ab) / den, 0.0, 1.0)
    d = ap - t[:, None] * ab
    return np.hypot(d[:, 0], d[:, 1])


def _dp_keep(pts: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker on an open polyline; boolean mask of kept vertices (ends kept)."""
    n = pts.shape[0]
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        d = _seg_dist(pts[i + 1 : j], pts[i], pts[j])
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return keep


def simplify_ring(ring: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring; returns a closed ring of at least 4 points.

    The ring is split at its first vertex and the vertex farthest from it; both halves are
    simplified. If fewer than 3 distinct vertices survive, the 3 most salient ones are kept.
    """
    pts = np.asarray(ring, dtype=np.float64)
    if pts.shape[0] > 1 and np.all(pts[0] == pts[-1]):
        pts = pts[:-1]
    m = pts.shape[0]
    if m <= 3:
        return np.vstack([pts, pts[:1]])
    far = int(np.argmax(np.hypot(*(pts - pts[0]).T)))
    keep = np.zeros(m, dtype=bool)
    keep[: far + 1] |= _dp_keep(pts[: far + 1], tol)
    back = np.vstack([pts[far:], pts[:1]])
    kb = _dp_keep(back, tol)
    keep[far:] |= kb[:-1]
    if keep.sum() < 3:
        d = _seg_dist(pts, pts[0], pts[far])
        keep[[0, far, int(np.argmax(d))]] = True
    out = pts[keep]
    return np.vstack([out, out[:1]])


def _signed_area_centroid(rings: list[np.ndarray]) -> tuple[float, float, float]:
    """Total signed area and centroid of rings in a plane (holes have opposite orientation)."""
    a2 = cx = cy = 0.0
    for r in rings:
        x, y = r[:, 0], r[:, 1]
        x2, y2 = np.roll(x, -1), np.roll(y, -1)
        c = x * y2 - x2 * y
        a2 += float(c.sum())
        cx += float(((x + x2) * c).sum())
        cy += float(((y + y2) * c).sum())
    return a2 / 2.0, cx / (3.0 * a2), cy / (3.0 * a2)


# --------------------------------------------------------------------------- shapefile reader


def read_shp_polygons(path: Path) -> list[list[np.ndarray]]:
    """Minimal ESRI .shp reader for polygon shapes (type 5); a record is a list of rings."""
    data = path.read_bytes()
    code, *_ = struct.unpack(">7i", data[:28])
    version, shape_type = struct.unpack("<2i", data[28:36])
    if code != 9994 or version != 1000:
        raise ValueError(f"{path}: not a shapefile")
    if shape_type != 5:
        raise ValueError(f"{path}: shape type {shape_type}, expected 5 (polygon)")
    out: list[list[np.ndarray]] = []
    pos = 100
    while pos + 8 <= len(data):
        _, n_words = struct.unpack(">2i", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + 2 * n_words]
        pos += 8 + 2 * n_words
        (stype,) = struct.unpack("<i", body[:4])
        if stype == 0:
            out.append([])
            continue
        if stype != 5:
            raise ValueError(f"{path}: record of shape type {stype}")
        n_parts, n_points = struct.unpack("<2i", body[36:44])
        parts = np.frombuffer(body, dtype="<i4", count=n_parts, offset=44).tolist()
        xy = np.frombuffer(body, dtype="<f8", count=2 * n_points, offset=44 + 4 * n_parts)
        xy = xy.reshape(n_points, 2).astype(np.float64)
        bounds = [*parts, n_points]
        out.append([xy[bounds[i] : bounds[i + 1]] for i in range(n_parts)])
    return out


def read_dbf(path: Path) -> list[dict[str, Any]]:
    """Minimal dBase III reader (C, N, F, L, D fields); skips deleted records."""
    data = path.read_bytes()
    n_rec, header_len, rec_len = struct.unpack("<IHH", data[4:12])
    fields = []
    pos = 32
    while data[pos] != 0x0D:
        desc = data[pos : pos + 32]
        name = desc[:11].split(b"\0", 1)[0].decode("ascii")
        fields.append((name, chr(desc[11]), desc[16]))
        pos += 32
    rows = []
    for r in range(n_rec):
        rec = data[header_len + r * rec_len : header_len + (r + 1) * rec_len]
        if rec[:1] == b"*":
            continue
        off = 1
        row: dict[str, Any] = {}
        for name, ftype, flen in fields:
            raw = rec[off : off + flen].decode("latin-1").strip()
            off += flen
            if ftype in "NF":
                if not raw:
                    row[name] = None
                elif ftype == "N" and "." not in raw:
                    row[name] = int(raw)
                else:
                    row[name] = float(raw)
            else:
                row[name] = raw
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- Manhattan tables


def _columns(path: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(path)
    return {c: table.column(c).to_numpy() for c in table.column_names}


def _zone_index(zone_ids: np.ndarray, values: np.ndarray, what: str) -> np.ndarray:
    idx = np.searchsorted(zone_ids, values)
    idx = np.minimum(idx, zone_ids.size - 1)
    if not np.all(zone_ids[idx] == values):
        bad = np.unique(values[zone_ids[idx] != values])
        raise ValueError(f"{what}: zones {bad.tolist()} have no polygon")
    return idx


def _fill_missing(a: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Fill NaN in ``a[slot, pu, do]``: the pair's mean over slots, else the slot's median."""
    out = a.copy()
    miss = np.isnan(out)
    n_pair = n_slot = 0
    if miss.any():
        with np.errstate(invalid="ignore"):
            pair_mean = np.nanmean(a, axis=0) if (~miss).any() else np.full(a.shape[1:], np.nan)
        fill = np.broadcast_to(pair_mean, a.shape)
        use = miss & ~np.isnan(fill)
        out[use] = fill[use]
        n_pair = int(use.sum())
        miss = np.isnan(out)
        if miss.any():
            slot_med = np.nanmedian(a.reshape(a.shape[0], -1), axis=1)
            slot_med = np.where(np.isnan(slot_med), np.nanmedian(a), slot_med)
            fill = np.broadcast_to(slot_med[:, None, None], a.shape)
            out[miss] = fill[miss]
            n_slot = int(miss.sum())
    return out, n_pair, n_slot


def build_manhattan_od(src: Path, zone_ids: np.ndarray) -> dict[str, Any]:
    """Dense OD trips (5, 96, Z, Z) uint16 and speeds (96, Z, Z) float32 m/s.

    ``trips[w, s, i, j]``: trips summed over the 2018 business days with weekday ``w``
    (0 = Monday), pickup in 15-minute slot ``s``, from zone ``zone_ids[i]`` to ``zone_ids[j]``.
    ``speed_mean_mps[s, i, j]``, ``speed_std_mps``: source km/s times 1000. Missing
    (slot, pair) cells are filled with the pair's mean over its observed slots, else the slot's
    median over observed pairs; ``speed_observed`` marks the cells present in the source.
    """
    z = zone_ids.size
    t = _columns(src / "trips.csv.gz")
    for c in ("dow", "t_15min", "puzone", "dozone", "n_trips"):
        t[c] = t[c].astype(np.int64)
    if t["dow"].min() < 0 or t["dow"].max() >= N_WEEKDAYS:
        raise ValueError("trips: dow outside 0..4")
    if t["t_15min"].min() < 0 or t["t_15min"].max() >= N_SLOTS:
        raise ValueError("trips: t_15min outside 0..95")
    if t["n_trips"].min() < 0:
        raise ValueError("trips: negative counts")
    pu = _zone_index(zone_ids, t["puzone"], "trips")
    do = _zone_index(zone_ids, t["dozone"], "trips")
    flat = ((t["dow"] * N_SLOTS + t["t_15min"]) * z + pu) * z + do
    if np.unique(flat).size != flat.size:
        raise ValueError("trips: duplicate (dow, slot, pu, do) rows")
    trips64 = np.zeros(N_WEEKDAYS * N_SLOTS * z * z, dtype=np.int64)
    trips64[flat] = t["n_trips"]
    if trips64.max() > np.iinfo(np.uint16).max:
        raise ValueError("trips: a count does not fit uint16")
    trips = trips64.astype(np.uint16).reshape(N_WEEKDAYS, N_SLOTS, z, z)
    totals_src = [int(t["n_trips"][t["dow"] == w].sum()) for w in range(N_WEEKDAYS)]
    totals_out = [int(x) for x in trips.sum(axis=(1, 2, 3), dtype=np.int64)]
    if totals_src != totals_out:
        raise AssertionError(f"trip totals changed: {totals_src} vs {totals_out}")

    s = _columns(src / "speeds.csv.gz")
    minute = s["min"].astype(np.int64)
    if np.any(minute % SLOT_MIN) or minute.min() < 0 or minute.max() >= N_SLOTS * SLOT_MIN:
        raise ValueError("speeds: `min` is not a 15-minute bucket of the day")
    spu = _zone_index(zone_ids, s["puzone"].astype(np.int64), "speeds")
    sdo = _zone_index(zone_ids, s["dozone"].astype(np.int64), "speeds")
    sflat = ((minute // SLOT_MIN) * z + spu) * z + sdo
    if np.unique(sflat).size != sflat.size:
        raise ValueError("speeds: duplicate (min, pu, do) rows")
    mean = np.full(N_SLOTS * z * z, np.nan)
    std = np.full(N_SLOTS * z * z, np.nan)
    mean[sflat] = s["speed_mean"].astype(np.float64) * 1000.0
    std[sflat] = s["speed_stddev"].astype(np.float64) * 1000.0
    bad = ~(mean[sflat] > 0) | ~(std[sflat] >= 0)
    if bad.any():
        raise ValueError(f"speeds: {int(bad.sum())} non-positive or invalid values")
    observed = ~np.isnan(mean)
    mean3, n_pair_m, n_slot_m = _fill_missing(mean.reshape(N_SLOTS, z, z))
    std3, _, _ = _fill_missing(std.reshape(N_SLOTS, z, z))
    arrays = {
        "zone_ids": zone_ids.astype(np.int16),
        "trips": trips,
        "speed_mean_mps": mean3.astype(np.float32),
        "speed_std_mps": std3.astype(np.float32),
        "speed_observed": observed.reshape(N_SLOTS, z, z),
    }
    return {
        "arrays": arrays,
        "totals": totals_src,
        "n_trip_rows": int(flat.size),
        "n_speed_rows": int(sflat.size),
        "speed_filled_pair": n_pair_m,
        "speed_filled_slot": n_slot_m,
        "max_count": int(trips64.max()),
        "speed_range": (float(np.nanmin(mean)), float(np.nanmax(mean))),
    }


def build_manhattan_zones(src: Path) -> tuple[list[dict[str, Any]], dict[int, list[np.ndarray]]]:
    """Zones from the pyhailing geojson (UTM 18N in km), sorted by id; also the UTM rings (m)."""
    with gzip.open(src / "taxizones.geojson.gz", "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    zones: list[dict[str, Any]] = []
    utm: dict[int, list[np.ndarray]] = {}
    for feat in doc["features"]:
        zid = int(feat["properties"]["zone_id"])
        geom = feat["geometry"]
        if geom["type"] == "Polygon":
            polys = [geom["coordinates"]]
        elif geom["type"] == "MultiPolygon":
            polys = geom["coordinates"]
        else:
            raise ValueError(f"zone {zid}: geometry {geom['type']}")
        rings_m = [np.asarray(r, dtype=np.float64) * 1000.0 for p in polys for r in p]
        rings = []
        for r in rings_m:
            lat, lng = proj.utm_to_latlng(r[:, 0], r[:, 1], 18)
            rings.append(_ring_latlng_to_list(lat, lng))
        zones.append({"id": zid, "name": str(feat["properties"]["zone_name"]), "rings": rings})
        utm[zid] = rings_m
    zones.sort(key=lambda z: z["id"])
    if len({z["id"] for z in zones}) != len(zones):
        raise ValueError("manhattan zones: duplicate ids")
    return zones, utm


# --------------------------------------------------------------------------- TLC zones


def build_tlc_zones(
    src: Path,
) -> tuple[list[dict[str, Any]], dict[int, tuple[float, float]], dict[str, int]]:
    """All TLC zones with a polygon, merged by LocationID, simplified, in WGS84."""
    base = src / "taxi_zones" / "taxi_zones"
    shapes = read_shp_polygons(base.with_suffix(".shp"))
    records = read_dbf(base.with_suffix(".dbf"))
    if len(shapes) != len(records):
        raise ValueError(f"shp has {len(shapes)} records, dbf {len(records)}")
    by_id: dict[int, list[np.ndarray]] = {}
    names: dict[int, str] = {}
    for rings, rec in zip(shapes, records, strict=True):
        zid = int(rec["LocationID"])
        if not rings:
            continue
        by_id.setdefault(zid, []).extend(rings)
        names.setdefault(zid, str(rec["zone"]))
    tol_ft = DP_TOLERANCE_M / proj.US_SURVEY_FOOT_M
    zones: list[dict[str, Any]] = []
    centroids: dict[int, tuple[float, float]] = {}
    stats = {"records": len(shapes), "points_in": 0, "points_out": 0, "rings": 0}
    for zid in sorted(by_id):
        rings_ft = by_id[zid]
        _, cx, cy = _signed_area_centroid(rings_ft)
        clat, clng = proj.ny_longisland_ftus_to_latlng(cx, cy)
        centroids[zid] = (float(clng), float(clat))
        out_rings = []
        for r in rings_ft:
            simple = simplify_ring(r, tol_ft)
            lat, lng = proj.ny_longisland_ftus_to_latlng(simple[:, 0], simple[:, 1])
            ring = _ring_latlng_to_list(lat, lng)
            out_rings.append(ring)
            stats["points_in"] += r.shape[0]
            stats["points_out"] += len(ring)
            stats["rings"] += 1
        zones.append({"id": zid, "name": names[zid], "rings": out_rings})
    return zones, centroids, stats


def _read_centroid_csv(path: Path) -> dict[int, tuple[float, float]]:
    t = _columns(path)
    return {
        int(i): (float(x), float(y))
        for i, x, y in zip(t["LocationID"], t["centroid_lon"], t["centroid_lat"], strict=True)
        if not (math.isnan(float(x)) or math.isnan(float(y)))
    }


def _max_centroid_error_m(
    mine: dict[int, tuple[float, float]], ref: dict[int, tuple[float, float]]
) -> tuple[float, int]:
    ids = sorted(set(mine) & set(ref))
    a = np.array([mine[i] for i in ids])
    b = np.array([ref[i] for i in ids])
    d = proj.haversine_m(a[:, 1], a[:, 0], b[:, 1], b[:, 0])
    k = int(np.argmax(d))
    return float(d[k]), ids[k]


# --------------------------------------------------------------------------- NOTICE


def _notice(info: dict[str, Any]) -> str:
    totals = info["totals"]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    total_lines = "\n".join(f"    - {d}: {t:,}" for d, t in zip(days, totals, strict=True))
    missing = ", ".join(str(i) for i in info["manhattan_missing"])
    return f"""# Data shipped with v1d3

Everything here is rebuilt, byte for byte, by

    python scripts/build_data.py --shared DIR

run from the repository root (``--shared`` DIR is the folder of the original downloads, holding
``{MANHATTAN_DIR}/`` and ``{TLC_DIR}/``).

## Manhattan OD demand and speeds, 2018 business days

Licence: Apache-2.0. Derived from the data of the PyPI package ``pyhailing`` 0.0.9
(upstream repository nkullman/ridehailing_package, files ``pyhailing/data/trips.csv``,
``speeds.csv``, ``taxizones.geojson``), itself aggregated from NYC TLC trip records.
The original licence is copied next to this file as ``LICENSE-pyhailing``. Changes: the tables
were made dense arrays, speeds converted from km/s to m/s, polygons reprojected to WGS84.

- ``manhattan_od.npz`` (numpy ``.npz``, deflate-compressed; load with ``numpy.load``):
  - ``zone_ids`` int16 ({len(info["zone_ids"])},): TLC LocationIDs in ascending order; a
    zone's index is its position here. The same order as ``manhattan_zones.json``. TLC's
    Manhattan zones {missing} are not in the source tables.
  - ``trips`` uint16 (5, 96, Z, Z) ``[weekday, slot, pickup zone, dropoff zone]``: trip counts
    summed over all 2018 business days of that weekday (0 = Monday ... 4 = Friday), 15-minute
    pickup slot of the day (0 = 00:00-00:15); largest cell {info["max_count"]:,}.
    Totals per weekday (exact):
{total_lines}
  - ``speed_mean_mps``, ``speed_std_mps`` float32 (96, Z, Z) ``[slot, pickup, dropoff]``: mean
    and standard deviation of zone-to-zone travel speed in metres per second (source: km/s).
  - ``speed_observed`` bool (96, Z, Z): True where the source has a value. Missing cells would
    be filled with the pair's mean over its observed slots, else with the slot's median over
    observed pairs; in this build {info["speed_filled_pair"]} cells were filled from the pair
    mean and {info["speed_filled_slot"]} from the slot median. Note: the source speeds are
    hourly values linearly interpolated to 15 minutes within 6-hour blocks (with jumps at
    06:00, 12:00, 18:00), and their median over pairs shows almost no time-of-day pattern.
- ``manhattan_zones.json``: the {len(info["zone_ids"])} Manhattan taxi-zone polygons.
  Converted from pyhailing's ``taxizones.geojson`` (UTM zone 18N, WGS84, in km) with the
  inverse transverse Mercator of ``v1d3.geo.projection``; coordinates rounded to 6 decimals.

## NYC TLC taxi zones and green taxi trips (``nyc_tlc/``)

Licence: NYC Taxi & Limousine Commission open data (NYC Open Data); TLC puts no restrictions
on reuse.

- ``green_tripdata_2021-03.parquet``: TLC green taxi trip records for March 2021, unmodified
  (SHA-256 ``{GREEN_SHA256}``).
- ``taxi_zone_lookup.csv``: LocationID, Borough, Zone, service_zone for IDs 1-265, unmodified.
- ``taxi_zones.json``: the {info["tlc_zones"]} TLC zones that have a polygon (IDs 57, 104 and
  105 share the polygons of 56 and 103; 264/265 are "unknown"). Converted from TLC's shapefile
  (NAD83 / New York Long Island, EPSG:2263, US survey feet) with the inverse Lambert conformal
  conic of ``v1d3.geo.projection`` (NAD83 taken as WGS84, as PROJ does by default), simplified
  with Douglas-Peucker at {DP_TOLERANCE_M:g} m tolerance ({info["tlc_points_in"]:,} ->
  {info["tlc_points_out"]:,} vertices; every ring kept, with at least 4 points), rounded to
  6 decimals. Area-weighted centroids of the unsimplified polygons agree with pyproj-based
  centroids to {info["tlc_centroid_err_m"]:.3f} m. Rings are simplified one by one, so
  neighbouring zones can overlap or leave gaps in slivers up to ~{DP_TOLERANCE_M:g} m wide
  along shared borders.

## Departures of real days from their weekday, 2021 Q1 (``day_departures.json``)

Licence: NYC Taxi & Limousine Commission open data, as above. Derived from TLC's green taxi
trip records for January, February and March 2021 (``green_tripdata_2021-01.parquet``, SHA-256
``b8e2c9496c5eada0f10adbd88f98d91721ec6fe2787a2b355cf0ccfa9678ee7b``; ``-02``,
``fd43c7afa2002716c8afadfd57665ab9c9ad99be419570a9b0a08de15cbeb64e``; ``-03`` as above): for
every Monday-Friday date, how the pick-ups inside the Manhattan table's zones departed from the
weekday's average (log volume ratio, a log multiplier per hour of the day and per well-counted
zone, each shrunk by its sampling noise, with that noise), and each date's pick-up count. No
trip record of January or February is shipped. Written by ``scripts/day_departures.py --shared
DIR`` (it imports the package, for the method in ``v1d3.demand.departures``), byte for byte the
same on every run; docs/simulation.md ("Real days") describes it.

## Zone file format

    {{"crs": "EPSG:4326", "zones": [{{"id": int, "name": str, "rings": [[[lng, lat], ...], ...]}}]}}

Rings are closed; holes and multiple parts are plain extra rings (even-odd rule). Read with
``v1d3.geo.polygons.load_zones``.
"""


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared data folder")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (package data)")
    args = ap.parse_args(argv)
    shared: Path = args.shared
    out: Path = args.out
    man = shared / MANHATTAN_DIR
    tlc = shared / TLC_DIR
    for p in (man, tlc):
        if not p.is_dir():
            print(f"error: {p}: missing input folder", file=sys.stderr)
            return 2

    zones_m, utm = build_manhattan_zones(man)
    zone_ids = np.array([z["id"] for z in zones_m], dtype=np.int64)
    od = build_manhattan_od(man, zone_ids)
    ref = _read_centroid_csv(tlc / "taxi_zone_centroids.csv")
    man_c = {}
    for zid, rings in utm.items():
        _, cx, cy = _signed_area_centroid(rings)
        lat, lng = proj.utm_to_latlng(cx, cy, 18)
        man_c[zid] = (float(lng), float(lat))
    man_err, man_worst = _max_centroid_error_m(man_c, ref)

    tlc_zones, tlc_c, stats = build_tlc_zones(tlc)
    lookup = _columns(tlc / "taxi_zone_lookup.csv")
    lookup_manhattan = [
        int(i)
        for i, b in zip(lookup["LocationID"], lookup["Borough"], strict=True)
        if b == "Manhattan"
    ]
    tlc_err, tlc_worst = _max_centroid_error_m(tlc_c, ref)
    if tlc_err > 1.0:
        raise AssertionError(f"TLC centroid of zone {tlc_worst} is {tlc_err:.2f} m off pyproj")
    if man_err > 30.0:
        raise AssertionError(f"Manhattan centroid of zone {man_worst} is {man_err:.1f} m off")

    _save_npz(out / "manhattan_od.npz", od["arrays"])
    _write_bytes(out / "manhattan_zones.json", _zones_json(zones_m))
    _copy_file(man / "LICENSE", out / "LICENSE-pyhailing")
    digest = hashlib.sha256((tlc / GREEN_PARQUET).read_bytes()).hexdigest()
    if digest != GREEN_SHA256:
        raise AssertionError(f"{GREEN_PARQUET}: SHA-256 {digest} differs from the source's")
    _copy_file(tlc / GREEN_PARQUET, out / "nyc_tlc" / GREEN_PARQUET)
    _copy_file(tlc / "taxi_zone_lookup.csv", out / "nyc_tlc" / "taxi_zone_lookup.csv")
    _write_bytes(out / "nyc_tlc" / "taxi_zones.json", _zones_json(tlc_zones))
    info = {
        **od,
        "zone_ids": zone_ids,
        "tlc_zones": len(tlc_zones),
        "tlc_points_in": stats["points_in"],
        "tlc_points_out": stats["points_out"],
        "tlc_centroid_err_m": tlc_err,
        "manhattan_missing": sorted(set(lookup_manhattan) - set(zone_ids.tolist())),
    }
    _write_bytes(out / "NOTICE.md", _notice(info).encode("utf-8"))
    print(f"TLC Manhattan zones not in the OD tables: {info['manhattan_missing']}")

    buf = io.StringIO()
    print(f"zones (Manhattan): {zone_ids.tolist()}", file=buf)
    print(f"trip rows {od['n_trip_rows']:,}, max count {od['max_count']}", file=buf)
    print(f"trip totals Mon..Fri: {od['totals']}", file=buf)
    lo, hi = od["speed_range"]
    print(f"speed rows {od['n_speed_rows']:,}, range {lo:.3f}..{hi:.3f} m/s", file=buf)
    print(
        f"speed cells filled: {od['speed_filled_pair']} from pair mean, "
        f"{od['speed_filled_slot']} from slot median",
        file=buf,
    )
    print(f"Manhattan centroid vs pyproj csv: max {man_err:.2f} m (zone {man_worst})", file=buf)
    print(f"TLC centroid vs pyproj csv: max {tlc_err:.4f} m (zone {tlc_worst})", file=buf)
    print(
        f"TLC zones {len(tlc_zones)}, rings {stats['rings']}, "
        f"vertices {stats['points_in']:,} -> {stats['points_out']:,}",
        file=buf,
    )
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.relative_to(out)}: {p.stat().st_size:,} bytes", file=buf)
    sys.stdout.write(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
