"""The KDD Cup 2020 dispatch champion's value approximator: a cell entry plus offset tiles.

``V(s)`` is the average of six table entries (docs/method.md §7): the entry of the driver's
hexagon cell and one entry in each of five tilings of 0.01° × 0.01° lng/lat squares, every
tiling shifted by a small fixed offset. Nearby points share most entries, so a TD step at one
point also moves its neighbourhood. Location only: the value is the same at every time of day.

The champion's exact offsets are not published in what we could read; the default follows
Sutton & Barto's recommendation for tile codings (asymmetric displacements ``i/5 · (1, 3)``
of a tile, ``i = 0..4``), so the five tilings are all different.
"""

from __future__ import annotations

import numpy as np

from v1d3.errors import ConfigError
from v1d3.geo.city import City
from v1d3.value.base import Discount
from v1d3.value.tabular import TableValue

__all__ = ["TileCodedValue", "DEFAULT_TILE_OFFSETS"]

DEFAULT_TILE_OFFSETS: tuple[tuple[float, float], ...] = tuple(
    ((i * 1 % 5) / 5 * 0.01, (i * 3 % 5) / 5 * 0.01) for i in range(5)
)
"""Offsets (lat, lng) of the five tilings, degrees."""


class TileCodedValue(TableValue):
    """``V = mean(θ_cell, θ_tile1 … θ_tile5)`` over one cell table and five offset tilings.

    The tile grids are laid over the city's bounding box (plus a margin) on :meth:`bind`; points
    outside fall into the border tiles. Binding again to the same city keeps the values.
    """

    def __init__(
        self,
        discount: Discount | None = None,
        tile_deg: float = 0.01,
        offsets: tuple[tuple[float, float], ...] = DEFAULT_TILE_OFFSETS,
        end_s: float = np.inf,
    ) -> None:
        """``tile_deg``: tile side, degrees; ``offsets``: (lat, lng) shift of each tiling,
        degrees; ``end_s``: end of the day, seconds after midnight (values 0 from then on)."""
        if tile_deg <= 0:
            raise ConfigError(f"tile coding: tile_deg must be > 0 degrees, got {tile_deg}")
        if not offsets:
            raise ConfigError("tile coding: needs at least one tiling offset")
        self.discount = discount if discount is not None else Discount()
        self.tile_deg = float(tile_deg)
        self.offsets = np.asarray(offsets, dtype=np.float64).reshape(-1, 2)
        self.end_s = float(end_s)
        self.table = np.zeros(0, dtype=np.float64)
        self._city: City | None = None
        self.n_cells = 0

    @property
    def n_active(self) -> int:
        """Entries averaged per state (the cell plus one per tiling)."""
        return 1 + len(self.offsets)

    def bind(self, city: City, weekday: int) -> None:
        """Lay the tile grids over ``city`` (values start at 0 for a new city)."""
        if self._city is not city:
            d = self.tile_deg
            self._lat0 = float(city.cell_lat.min()) - 3 * d
            self._lng0 = float(city.cell_lng.min()) - 3 * d
            self._ny = int(np.ceil((float(city.cell_lat.max()) + 3 * d - self._lat0) / d)) + 1
            self._nx = int(np.ceil((float(city.cell_lng.max()) + 3 * d - self._lng0) / d)) + 1
            self.n_cells = city.n_cells
            self.n_tiles = self._ny * self._nx
            self.table = np.zeros(self.n_cells + len(self.offsets) * self.n_tiles)
            # per tiling: grid origin shifted by its offset, upper clip, first table index
            self._origin = np.array([self._lat0, self._lng0]) - self.offsets  # (T, 2)
            self._hi = np.array([self._ny - 1, self._nx - 1], dtype=np.float64)
            self._base = self.n_cells + self.n_tiles * np.arange(len(self.offsets))
            self._city = city
        super().bind(city, weekday)

    def active(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cell entry and one tile per tiling, each weighted ``1 / n_active`` (0 after
        ``end_s``)."""
        if self._city is None:
            raise ConfigError("tile coding: call bind(city, weekday) before reading values")
        n = np.size(cell)
        pts = np.empty((n, 1, 2))
        pts[:, 0, 0] = lat
        pts[:, 0, 1] = lng
        # tile coordinates per tiling, clipped into the grid (≥ 0, so truncation = floor)
        f = (pts - self._origin) / self.tile_deg  # (n, T, 2)
        np.maximum(f, 0.0, out=f)
        np.minimum(f, self._hi, out=f)
        q = f.astype(np.int64)
        idx = np.empty((n, self.n_active), dtype=np.int64)
        idx[:, 0] = cell
        np.add(q[:, :, 0] * self._nx + q[:, :, 1], self._base, out=idx[:, 1:])
        w = np.full((n, self.n_active), 1.0 / self.n_active)
        if np.isfinite(self.end_s):
            w[np.asarray(t_s) >= self.end_s] = 0.0
        return idx, w

    def update(self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, delta: np.ndarray) -> None:
        """A TD step: every active entry of each state moves by ``delta`` (so ``V`` of a lone
        state moves by ``delta``); steps of states sharing entries add up."""
        self.add(cell, lat, lng, np.zeros(1), delta)
