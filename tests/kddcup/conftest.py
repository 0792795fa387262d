"""Small KDD-format files written by the tests themselves (never the research-only originals)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.synthetic import synthetic_city, synthetic_orders
from v1d3.kddcup.grid import write_grid
from v1d3.kddcup.kdd_source import day_epoch, write_kdd_orders

CENTRE = (30.66, 104.06)
"""A Chengdu-like centre (lat, lng)."""
DAYS = ("2016-11-08", "2016-11-09")
"""A Tuesday and a Wednesday."""
CHINA = dt.timezone(dt.timedelta(hours=8))
"""The competition's local time, in which a file's date is its rides' start date."""


@dataclass(frozen=True)
class KddFiles:
    grid: Path
    orders: Path
    grid_bad_rows: dict[str, int]
    orders_bad_rows: dict[str, int]
    orders_per_day: int


def _grid_file(path: Path) -> dict[str, int]:
    cfg = SyntheticConfig(rings=5, centre_lat=CENTRE[0], centre_lng=CENTRE[1])
    city = synthetic_city(cfg, 8)
    write_grid(city, path)
    with path.open("a") as fh:
        fh.write("deadbeef00000000,0.00155,0.00155,-0.00155,0.00155,-0.00155,-0.00155,0.00155\n")
        fh.write("cafe000000000000,104.1,30.6,x,30.6,104.1,30.6,104.1,30.6,104.1,30.6,104.1,30.6\n")
        # a stray cell 1,500 km away, like the ones in the official table
        v = ",".join(
            f"{120.0 + dx:.5f},{30.6 + dy:.5f}"
            for dx, dy in [
                (0.004, 0),
                (0.002, 0.004),
                (-0.002, 0.004),
                (-0.004, 0),
                (-0.002, -0.004),
                (0.002, -0.004),
            ]
        )
        fh.write(f"5742a70000000000,{v}\n")
    return {"fields": 1, "number": 1, "stray": 1}


def _orders_file(path: Path, grid_path: Path, per_day: int) -> dict[str, int]:
    from v1d3.kddcup.grid import read_grid

    city = read_grid(grid_path, max_km=100).city()
    syn = SyntheticConfig(
        rings=5, centre_lat=CENTRE[0], centre_lng=CENTRE[1], speed_mps=3.0, detour=1.0
    )
    lines: list[str] = []
    for k, day in enumerate(DAYS):
        drawn = synthetic_orders(syn, city, 2 * per_day, np.random.default_rng(k))
        inside = np.ones(len(drawn), dtype=bool)
        for lat, lng in ((drawn.o_lat, drawn.o_lng), (drawn.d_lat, drawn.d_lng)):
            x, y = city.proj.to_xy(lat, lng)
            c = city.cell_of_xy(x, y)
            inside &= np.hypot(x - city.cell_x[c], y - city.cell_y[c]) < city.edge_m
        orders = drawn.take(np.flatnonzero(inside)[:per_day])
        orders.source_id[:] = np.arange(per_day) + k * per_day
        tmp = path.with_name(f"{day}.csv")
        write_kdd_orders(tmp, orders, day_epoch(day), cancel_prob=(k == 1))
        lines.extend(tmp.read_text().splitlines())
        tmp.unlink()
    epoch = day_epoch(DAYS[0])
    t = epoch + 9 * 3600
    bad = [
        f"900001,{t},{t + 600},104.06,30.66",  # fields
        f"900002,{t},{t + 600},104.06,abc,104.07,30.67,3.5",  # number
        f"900003,{t},{t - 600},104.06,30.66,104.07,30.67,3.5",  # time
        f"900004,{t},{t + 600},104.06,30.66,104.07,30.67,-1.0",  # reward
        f"900005,{t},{t + 600},121.06,30.66,104.07,30.67,3.5",  # outside_grid
        f"0,{t},{t + 600},104.06,30.66,104.07,30.67,3.5",  # duplicate_id (order 0 exists)
    ]
    path.write_text("\n".join(lines + bad) + "\n")
    return {"fields": 1, "number": 1, "time": 1, "reward": 1, "outside_grid": 1, "duplicate_id": 1}


@pytest.fixture(scope="session")
def kdd_files(tmp_path_factory: pytest.TempPathFactory) -> KddFiles:
    """A 91-cell hexagon table (plus a malformed, a non-numeric and a stray row) and two days
    of orders (the second with cancellation probabilities, plus six unusable rows)."""
    folder = tmp_path_factory.mktemp("kdd")
    grid = folder / "hexagon_grid_table.csv"
    orders = folder / "orders.csv"
    per_day = 6000
    gbad = _grid_file(grid)
    obad = _orders_file(orders, grid, per_day)
    return KddFiles(grid, orders, gbad, obad, per_day)


@pytest.fixture(scope="session")
def kdd_dated(kdd_files: KddFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orders of ``kdd_files`` as the competition shipped them, one file per date:
    ``total_ride_request/order_20161108`` (with the six unusable rows) and ``order_20161109``."""
    folder = tmp_path_factory.mktemp("kdd_dated") / "total_ride_request"
    folder.mkdir()
    by_date: dict[str, list[str]] = {}
    for line in kdd_files.orders.read_text().splitlines():
        start = dt.datetime.fromtimestamp(float(line.split(",")[1]), CHINA)
        by_date.setdefault(start.strftime("%Y%m%d"), []).append(line)
    assert sorted(by_date) == [d.replace("-", "") for d in DAYS]
    for date, lines in by_date.items():
        (folder / f"order_{date}").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(autouse=True)
def _forget_agents() -> Iterator[None]:
    """Agent folders leave neither modules nor ``sys.path`` entries behind."""
    yield
    from v1d3.kddcup.submission import unload_agents

    unload_agents()


@pytest.fixture
def write_agent(tmp_path: Path) -> Callable[..., Path]:
    """``write_agent(source, **files)``: a submission folder with ``agent.py`` and extra files."""

    def write(source: str, name: str = "agent_dir", **files: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "agent.py").write_text(textwrap.dedent(source))
        for fname, text in files.items():
            (folder / fname.replace("__", ".")).write_text(textwrap.dedent(text))
        return folder

    return write
