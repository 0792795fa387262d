"""KDD Cup 2020 hexagon grid tables: read one into a :class:`~v1d3.geo.city.City`, write any city.

The table has no header; each row is ``grid_id`` followed by six vertices as ``lng,lat`` pairs
(13 fields). Rows that are not that (wrong field count, non-numbers, coordinates out of range,
a repeated ``grid_id``) are dropped and counted by reason, never fatal: the official Chengdu
table has one such row. Cells whose centre lies far from the grid's median centre can be
filtered out as strays (the Chengdu table has a few dozen hundreds of kilometres away).

Any city can be written as such a table: H3 cells with their exact boundaries
(:func:`h3.cell_to_boundary`), other grids as regular hexagons of the city's edge length around
each cell centre. KDD agents then see our cities in their own format.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h3
import numpy as np

from v1d3.errors import ConfigError, DataError
from v1d3.geo.city import City, hex_grid_city
from v1d3.geo.projection import haversine_m
from v1d3.geo.travel import ConstantSpeed, TravelModel
from v1d3.text_files import not_utf8

__all__ = [
    "KDD_SPEED_MPS",
    "STRAY_KM",
    "HexGrid",
    "read_grid",
    "grid_table",
    "write_grid",
]

KDD_SPEED_MPS = 3.0
"""Driving speed of the KDD Cup 2020 simulator, metres per second (straight line)."""
STRAY_KM = 100.0
"""Default stray-cell filter: cells farther than this from the median cell centre, km."""

_N_FIELDS = 13


@dataclass(frozen=True, eq=False)
class HexGrid:
    """A hexagon grid table as read: ids, vertices and what was dropped."""

    grid_id: tuple[str, ...]
    """Public cell ids, in file order."""
    vertices: np.ndarray = field(repr=False)
    """Vertices as ``(lng, lat)`` degrees, shape (n, 6, 2)."""
    dropped_rows: int = 0
    """Rows dropped (malformed, repeated id or stray)."""
    drop_reasons: dict[str, int] = field(default_factory=dict)
    """Dropped rows by reason: ``fields``, ``number``, ``range``, ``duplicate_id``, ``stray``."""

    def __len__(self) -> int:
        return len(self.grid_id)

    @property
    def centre_lng(self) -> np.ndarray:
        """Cell centre longitudes (mean of the six vertices), degrees."""
        return self.vertices[:, :, 0].mean(axis=1)

    @property
    def centre_lat(self) -> np.ndarray:
        """Cell centre latitudes (mean of the six vertices), degrees."""
        return self.vertices[:, :, 1].mean(axis=1)

    def city(self, name: str = "kdd", travel: TravelModel | None = None) -> City:
        """The grid as a city (neighbours from centre spacing); KDD travel (3 m/s) by default."""
        return hex_grid_city(
            name,
            self.grid_id,
            self.centre_lat,
            self.centre_lng,
            travel if travel is not None else ConstantSpeed(KDD_SPEED_MPS),
        )


def numeric_rows(
    fh: Iterable[str], widths: tuple[int, ...], drops: Counter[str]
) -> Iterator[tuple[int, str, list[float]]]:
    """Rows of a headerless KDD CSV: ``(line, id, numbers)`` for each row of an allowed width
    whose first field is an id and whose other fields are finite numbers. Blank lines are
    skipped; other rows are counted in ``drops`` as ``fields`` or ``number``."""
    for i, row in enumerate(csv.reader(fh)):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) not in widths or not row[0].strip():
            drops["fields"] += 1
            continue
        try:
            v = [float(x) for x in row[1:]]
        except ValueError:
            drops["number"] += 1
            continue
        if not all(math.isfinite(x) for x in v):
            drops["number"] += 1
            continue
        yield i, row[0].strip(), v


def read_grid(path: str | Path, max_km: float | None = None) -> HexGrid:
    """Read a KDD hexagon grid table (CSV, no header).

    Malformed rows are dropped and counted; with ``max_km``, cells whose centre lies farther than
    ``max_km`` kilometres from the median cell centre are dropped as strays.
    """
    path = Path(path)
    if max_km is not None and max_km <= 0:
        raise ConfigError(f"grid stray filter max_km must be > 0 km, got {max_km}")
    drops: Counter[str] = Counter()
    ids: list[str] = []
    verts: list[list[float]] = []
    seen: set[str] = set()
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for _, gid, v in numeric_rows(fh, (_N_FIELDS,), drops):
                lng, lat = v[0::2], v[1::2]
                if max(map(abs, lng)) > 180 or max(map(abs, lat)) > 90:
                    drops["range"] += 1
                    continue
                if gid in seen:
                    drops["duplicate_id"] += 1
                    continue
                seen.add(gid)
                ids.append(gid)
                verts.append(v)
    except UnicodeDecodeError as e:
        raise not_utf8(path, e, "KDD hexagon grid table") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the grid table ({e.strerror or e})") from None
    if not ids:
        raise DataError(
            f"{path}: no usable grid rows; expected grid_id and 6 lng,lat vertices (13 fields)"
        )
    vertices = np.asarray(verts, dtype=np.float64).reshape(-1, 6, 2)
    if max_km is not None:
        c_lng = vertices[:, :, 0].mean(axis=1)
        c_lat = vertices[:, :, 1].mean(axis=1)
        d_km = haversine_m(c_lat, c_lng, np.median(c_lat), np.median(c_lng)) / 1000.0
        keep = d_km <= max_km
        if not keep.all():
            drops["stray"] += int((~keep).sum())
            vertices = vertices[keep]
            ids = [g for g, k in zip(ids, keep.tolist(), strict=True) if k]
    return HexGrid(
        grid_id=tuple(ids),
        vertices=vertices,
        dropped_rows=sum(drops.values()),
        drop_reasons=dict(drops),
    )


def grid_table(city: City) -> np.ndarray:
    """The six ``(lng, lat)`` vertices of each of the city's cells, shape (n_cells, 6, 2).

    H3 cells give their exact boundary; other cells a regular hexagon of the city's edge length
    around the cell centre.
    """
    out = np.empty((city.n_cells, 6, 2), dtype=np.float64)
    if city.h3_resolution is not None:
        for i, label in enumerate(city.labels):
            b = h3.cell_to_boundary(label)
            if len(b) != 6:  # pentagons (none in any city) or distorted cells: resample
                b = (b + b)[:6]
            out[i] = [(lng, lat) for lat, lng in b]
        return out
    ang = np.deg2rad(30.0 + 60.0 * np.arange(6))
    x = city.cell_x[:, None] + city.edge_m * np.cos(ang)[None, :]
    y = city.cell_y[:, None] + city.edge_m * np.sin(ang)[None, :]
    lat, lng = city.proj.to_latlng(x, y)
    out[:, :, 0] = lng
    out[:, :, 1] = lat
    return out


def write_grid(city: City, path: str | Path, decimals: int = 7) -> int:
    """Write the city as a KDD hexagon grid table (no header); returns the number of rows.

    Written atomically; a bad ``path`` (see :func:`~v1d3.files.check_output_path`) is a
    :class:`ConfigError` before anything is written.
    """
    from v1d3.files import atomic_file

    with atomic_file(path) as tmp:
        verts = grid_table(city)
        fmt = f"{{:.{decimals}f}}"
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            for label, v in zip(city.labels, verts, strict=True):
                w.writerow([label, *(fmt.format(x) for x in v.ravel().tolist())])
    return city.n_cells
