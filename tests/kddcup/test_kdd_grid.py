"""KDD hexagon grid tables: reading with drops counted, stray filter, writing any city."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import ConfigError, DataError
from v1d3.geo.travel import ConstantSpeed
from v1d3.kddcup.grid import STRAY_KM, grid_table, read_grid, write_grid


def test_read_counts_malformed_rows_and_filters_strays(kdd_files) -> None:
    raw = read_grid(kdd_files.grid)
    assert len(raw) == 92  # 91 H3 cells + the stray
    assert raw.drop_reasons == {"fields": 1, "number": 1}
    assert raw.dropped_rows == 2
    grid = read_grid(kdd_files.grid, max_km=STRAY_KM)
    assert len(grid) == 91
    assert grid.drop_reasons == {"fields": 1, "number": 1, "stray": 1}
    assert grid.vertices.shape == (91, 6, 2)


def test_grid_city_has_hexagon_neighbours_and_kdd_travel(kdd_files) -> None:
    city = read_grid(kdd_files.grid, max_km=STRAY_KM).city()
    assert city.n_cells == 91
    assert isinstance(city.travel, ConstantSpeed) and city.travel.speed_mps == 3.0
    n_nb = (city.neighbours >= 0).sum(axis=1)
    # a 5-ring disk: 61 inner cells have 6 neighbours, the 30 on the rim 3 or 4
    assert (n_nb == 6).sum() == 61
    assert set(n_nb[n_nb < 6].tolist()) <= {3, 4}
    # point-to-cell lookup finds each cell from its own centre
    np.testing.assert_array_equal(city.cell_of(city.cell_lat, city.cell_lng), np.arange(91))
    # edge ≈ H3 resolution 8 (about 460 m)
    assert 400 < city.edge_m < 560


def test_h3_city_written_with_exact_boundaries(tmp_path: Path) -> None:
    city = synthetic_city(SyntheticConfig(rings=2), 8)
    path = tmp_path / "g.csv"
    assert write_grid(city, path) == city.n_cells
    rows = path.read_text().splitlines()
    assert len(rows) == 19 and all(len(r.split(",")) == 13 for r in rows)
    back = read_grid(path)
    assert back.grid_id == city.labels
    for gid, v in zip(back.grid_id, back.vertices, strict=True):
        lat, lng = zip(*h3.cell_to_boundary(gid), strict=True)
        np.testing.assert_allclose(v[:, 0], lng, atol=1e-7)
        np.testing.assert_allclose(v[:, 1], lat, atol=1e-7)
    # the grid city reads its cells back at their H3 centres
    c = back.city()
    np.testing.assert_array_equal(c.cell_of(city.cell_lat, city.cell_lng), np.arange(19))


def test_non_h3_city_written_as_regular_hexagons(kdd_files, tmp_path: Path) -> None:
    city = read_grid(kdd_files.grid, max_km=STRAY_KM).city()
    v = grid_table(city)
    x, y = city.proj.to_xy(v[:, :, 1], v[:, :, 0])
    r = np.hypot(x - city.cell_x[:, None], y - city.cell_y[:, None])
    np.testing.assert_allclose(r, city.edge_m, rtol=1e-6)
    write_grid(city, tmp_path / "again.csv")
    again = read_grid(tmp_path / "again.csv").city()
    np.testing.assert_allclose(again.cell_lat, city.cell_lat, atol=1e-7)
    np.testing.assert_array_equal(again.neighbours, city.neighbours)


def test_unusable_grid_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,c\n")
    with pytest.raises(DataError, match="empty.csv: no usable grid rows"):
        read_grid(empty)
    with pytest.raises(ConfigError, match="max_km"):
        read_grid(empty, max_km=0)
    dup = tmp_path / "dup.csv"
    row = "abc," + ",".join(["104.0,30.6"] * 6)
    dup.write_text(f"{row}\n{row}\n")
    assert read_grid(dup).drop_reasons == {"duplicate_id": 1}
