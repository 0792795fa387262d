"""The city: a set of cells (H3 hexagons or a given hexagon grid) with neighbours and travel times.

Positions stay coordinates (lat/lng degrees, projected to metres for distances); cells are the
spatial unit of decisions and values. Cells are numbered densely ``0 .. n_cells-1``; ``labels``
maps a dense index back to its public id (an H3 index string, or a KDD Cup ``grid_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat

import h3
import numpy as np
from scipy.spatial import cKDTree

from v1d3.errors import ConfigError
from v1d3.geo.polygons import Zones, zone_of_points
from v1d3.geo.projection import LocalProjection
from v1d3.geo.travel import ConstantSpeed, TravelModel

_DEDUPLICATE_ABOVE = 1000
"""Points above which :meth:`City.cell_of` looks each distinct point up once."""

__all__ = ["City", "h3_city", "hex_grid_city"]


@dataclass(frozen=True, eq=False)
class City:
    """Cells, their neighbours, zones and the travel model of one service area."""

    name: str
    proj: LocalProjection
    cell_lat: np.ndarray = field(repr=False)
    """Cell centre latitudes, degrees, shape (C,)."""
    cell_lng: np.ndarray = field(repr=False)
    """Cell centre longitudes, degrees, shape (C,)."""
    neighbours: np.ndarray = field(repr=False)
    """Dense indices of each cell's neighbours inside the city, shape (C, 6), -1 where none."""
    labels: tuple[str, ...] = field(repr=False)
    """Public id of each cell (H3 index string or grid id)."""
    travel: TravelModel = field(repr=False)
    edge_m: float
    """Typical cell edge length, metres."""
    h3_resolution: int | None = None
    """H3 resolution of the cells, or None for a grid that is not H3."""
    zones: Zones | None = field(default=None, repr=False)
    cell_zone: np.ndarray | None = field(default=None, repr=False)
    """Zone index of each cell centre (-1 outside every zone), shape (C,)."""

    def __post_init__(self) -> None:
        x, y = self.proj.to_xy(self.cell_lat, self.cell_lng)
        object.__setattr__(self, "cell_x", np.asarray(x, dtype=np.float64))
        object.__setattr__(self, "cell_y", np.asarray(y, dtype=np.float64))
        object.__setattr__(self, "_tree", cKDTree(np.column_stack([x, y])))
        if self.h3_resolution is not None:
            ids = np.array([h3.str_to_int(s) for s in self.labels], dtype=np.uint64)
            order = np.argsort(ids)
            object.__setattr__(self, "_h3_sorted", ids[order])
            object.__setattr__(self, "_h3_order", order.astype(np.int32))
            object.__setattr__(self, "h3_ids", ids)
        object.__setattr__(self, "_label_index", {s: i for i, s in enumerate(self.labels)})

    cell_x: np.ndarray = field(init=False, repr=False)
    cell_y: np.ndarray = field(init=False, repr=False)
    h3_ids: np.ndarray | None = field(init=False, repr=False, default=None)
    """H3 index of each cell as uint64 (None for a grid that is not H3)."""

    @property
    def n_cells(self) -> int:
        return len(self.labels)

    def cell_of(self, lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
        """Dense cell index of each point (the nearest cell when a point lies outside the city)."""
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lng = np.atleast_1d(np.asarray(lng, dtype=np.float64))
        if lat.size > _DEDUPLICATE_ABOVE and lat.shape == lng.shape:
            # a round names each place many times (an order once per candidate driver): look
            # each distinct point up once (60,000 points of 8,000 places: 15 ms against 76 ms)
            points = np.stack([lat.ravel(), lng.ravel()], axis=1)
            if np.isfinite(points).all():  # (lat, lng) as one complex number: a fast unique
                uniq, inv = np.unique(points.view(np.complex128).ravel(), return_inverse=True)
                return self._cell_of(uniq.real, uniq.imag)[inv].reshape(lat.shape)
        return self._cell_of(lat, lng)

    def _cell_of(self, lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
        out = np.full(lat.shape, -1, dtype=np.int32)
        if self.h3_resolution is not None and lat.size:
            res = self.h3_resolution
            to_cell = h3.api.basic_int.latlng_to_cell
            ids = np.fromiter(
                map(to_cell, lat.ravel().tolist(), lng.ravel().tolist(), repeat(res, lat.size)),
                dtype=np.uint64,
                count=lat.size,
            ).reshape(lat.shape)
            pos = np.searchsorted(self._h3_sorted, ids)  # type: ignore[attr-defined]
            pos = np.minimum(pos, len(self._h3_sorted) - 1)  # type: ignore[attr-defined]
            hit = self._h3_sorted[pos] == ids  # type: ignore[attr-defined]
            out[hit] = self._h3_order[pos[hit]]  # type: ignore[attr-defined]
        miss = out < 0
        if miss.any():
            x, y = self.proj.to_xy(lat[miss], lng[miss])
            _, idx = self._tree.query(np.column_stack([x, y]))  # type: ignore[attr-defined]
            out[miss] = idx
        return out

    def cell_of_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Dense index of the nearest cell centre to projected points (metres)."""
        _, idx = self._tree.query(np.column_stack([x, y]))  # type: ignore[attr-defined]
        return np.asarray(idx, dtype=np.int32)

    def index_of_labels(self, labels: Sequence[str]) -> np.ndarray:
        """Dense indices of public cell ids; unknown ids give -1."""
        get = self._label_index.get  # type: ignore[attr-defined]
        return np.array([get(s, -1) for s in labels], dtype=np.int32)

    def zone_of_cells(self, cells: np.ndarray) -> np.ndarray:
        """Zone index of cells (-1 when the city has no zones)."""
        if self.cell_zone is None:
            return np.full(np.shape(cells), -1, dtype=np.int32)
        return self.cell_zone[cells]

    def long_axis(self) -> tuple[tuple[float, float], float]:
        """The unit vector (x, y) along which the cell centres spread most (first principal
        axis), and the city's extent along it in metres (one cell edge added at each end)."""
        if self.n_cells < 2:
            return (0.0, 1.0), 2.0 * self.edge_m
        _, vecs = np.linalg.eigh(np.cov(np.vstack((self.cell_x, self.cell_y))))
        ax, ay = (float(v) for v in vecs[:, -1])
        u = self.cell_x * ax + self.cell_y * ay
        return (ax, ay), float(np.ptp(u)) + 2.0 * self.edge_m

    def disk(self, cells: np.ndarray, k: int) -> list[np.ndarray]:
        """The cells within ``k`` neighbour steps of each given cell (itself first)."""
        out = []
        for c in np.asarray(cells).tolist():
            seen = [c]
            frontier = [c]
            for _ in range(k):
                nxt = []
                for f in frontier:
                    for n in self.neighbours[f].tolist():
                        if n >= 0 and n not in seen:
                            seen.append(n)
                            nxt.append(n)
                frontier = nxt
            out.append(np.array(seen, dtype=np.int32))
        return out


def _neighbour_table(labels: Sequence[str]) -> np.ndarray:
    index = {s: i for i, s in enumerate(labels)}
    nb = np.full((len(labels), 6), -1, dtype=np.int32)
    for i, s in enumerate(labels):
        ring = [index[n] for n in h3.grid_ring(s, 1) if n in index]
        nb[i, : len(ring)] = ring[:6]
    return nb


def h3_city(
    name: str,
    cells: Sequence[str],
    travel: TravelModel | None = None,
    zones: Zones | None = None,
) -> City:
    """A city made of the given H3 cells (all of one resolution)."""
    labels = tuple(sorted(set(cells)))
    if not labels:
        raise ConfigError(f"city {name!r}: no H3 cells")
    res = {h3.get_resolution(c) for c in labels}
    if len(res) != 1:
        raise ConfigError(f"city {name!r}: H3 cells of several resolutions {sorted(res)}")
    (r,) = res
    latlng = np.array([h3.cell_to_latlng(c) for c in labels])
    lat0, lng0 = float(latlng[:, 0].mean()), float(latlng[:, 1].mean())
    cell_zone = None
    if zones is not None:
        cell_zone = zone_of_points(latlng[:, 0], latlng[:, 1], zones).astype(np.int32)
    return City(
        name=name,
        proj=LocalProjection(lat0, lng0),
        cell_lat=latlng[:, 0].copy(),
        cell_lng=latlng[:, 1].copy(),
        neighbours=_neighbour_table(labels),
        labels=labels,
        travel=travel if travel is not None else ConstantSpeed(),
        edge_m=float(h3.average_hexagon_edge_length(r, unit="m")),
        h3_resolution=r,
        zones=zones,
        cell_zone=cell_zone,
    )


def hex_grid_city(
    name: str,
    grid_ids: Sequence[str],
    centre_lat: np.ndarray,
    centre_lng: np.ndarray,
    travel: TravelModel | None = None,
) -> City:
    """A city on a given hexagon grid (e.g. the KDD Cup table): neighbours from centre spacing."""
    lat = np.asarray(centre_lat, dtype=np.float64)
    lng = np.asarray(centre_lng, dtype=np.float64)
    if lat.size == 0:
        raise ConfigError(f"city {name!r}: empty grid")
    proj = LocalProjection(float(lat.mean()), float(lng.mean()))
    x, y = proj.to_xy(lat, lng)
    tree = cKDTree(np.column_stack([x, y]))
    k = min(7, lat.size)
    dist, idx = tree.query(np.column_stack([x, y]), k=k)
    dist = np.atleast_2d(dist)
    idx = np.atleast_2d(idx)
    spacing = float(np.median(dist[:, 1])) if k > 1 else 1000.0
    nb = np.full((lat.size, 6), -1, dtype=np.int32)
    if k > 1:
        near = dist[:, 1:] <= 1.2 * spacing
        cand = np.where(near, idx[:, 1:], -1)
        nb[:, : cand.shape[1]] = cand
    return City(
        name=name,
        proj=proj,
        cell_lat=lat,
        cell_lng=lng,
        neighbours=nb,
        labels=tuple(str(g) for g in grid_ids),
        travel=travel if travel is not None else ConstantSpeed(),
        edge_m=spacing / np.sqrt(3.0),
    )
