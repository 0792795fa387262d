"""Bad input thrown at every file reader (hypothesis): random bytes, truncations, overwritten
bytes, and NaN, infinite and huge numbers in the config, TLC trip records, KDD orders and grid,
run folders' event logs and model files.

Each command, called in-process as a user calls it, either refuses the file with one line and
exit code 2, writing nothing, or reads on with the unusable rows dropped and counted; never a
traceback, never a file outside its output path, and what it writes is strict JSON. Examples
are few and derandomised, so the suite stays fast and repeatable; ``V1D3_BAD_INPUT_EXAMPLES=300``
draws that many at random instead (the search that found the defects fixed with this test: a
detour of 1e308, a round of 1e-308 s, a zone id beyond 2**53, a column name that is not UTF-8).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_inprocess import run_v1d3
from v1d3.demand.config import ScenarioConfig, SyntheticConfig
from v1d3.demand.synthetic import synthetic_city, synthetic_orders
from v1d3.eval.config import RunConfig
from v1d3.kddcup.grid import read_grid, write_grid
from v1d3.kddcup.kdd_source import day_epoch, write_kdd_orders
from v1d3.text_files import json_text, read_json

SETTINGS = settings(
    max_examples=int(os.environ.get("V1D3_BAD_INPUT_EXAMPLES", "40")),
    deadline=None,
    derandomize="V1D3_BAD_INPUT_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SMALL = ["--scenario", "synthetic", "--orders", "300", "--hours", "0.5", "--start-hour", "8"]
ODD_TEXT = ("nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e308", "-1e308", "1e999")
"""Numbers as a hand-edited or damaged text file may spell them."""
ODD_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308)
NUMBER = re.compile(rb"(?<![\w.\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.\"])")
KDD_DAY = "2016-11-08"


def damaged(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, a truncation of ``valid``, or ``valid`` with a few bytes overwritten."""
    n = len(valid)
    overwrite = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=16)).map(
        lambda t: valid[: t[0]] + t[1] + valid[t[0] + len(t[1]) :]
    )
    truncated = st.integers(0, n - 1).map(lambda k: valid[:k])
    return st.one_of(st.binary(max_size=4096), truncated, overwrite)


def odd_number_in(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with one of its numbers spelled as NaN, an infinity or a huge number."""
    spans = [m.span() for m in NUMBER.finditer(valid)]
    return st.tuples(st.sampled_from(spans), st.sampled_from(ODD_TEXT)).map(
        lambda t: valid[: t[0][0]] + t[1].encode() + valid[t[0][1] :]
    )


def _files(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def attempt(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    root: Path,
    out: Path | None,
    *args: str,
    ok: tuple[int, ...] = (0,),
) -> tuple[int, str, str]:
    """Run ``v1d3 ARGS`` in folder ``root`` and check the rules for bad input: exit code 2 with
    one line and nothing written, or an exit code in ``ok`` with new files only at ``out`` (a
    file, or a folder and what is in it), whose JSON is strict. Returns (code, stdout, stderr)."""
    before = _files(root)
    code, stdout, err = run_v1d3(monkeypatch, capsys, *args)
    new = _files(root) - before
    assert "Traceback" not in err, err
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert not new, new
        return code, stdout, err
    assert code in ok, (code, err)
    target = "" if out is None else os.path.relpath(out, root)
    assert all(p == target or p.startswith(target + os.sep) for p in new), (new, target)
    for p in new:
        if p.endswith(".json"):
            read_json(root / p)
    return code, stdout, err


def dropped(stdout: str) -> int:
    m = re.search(r"dropped rows: (\d+)", " ".join(stdout.split()))
    assert m, stdout
    return int(m.group(1))


def in_fresh(tmp_path: Path, body: Callable[[Path], Any]) -> None:
    """``body(folder)`` in a new empty folder (hypothesis runs many examples in one test)."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        body(Path(d))


# -- the config -----------------------------------------------------------------------------

CONFIG = json_text(
    RunConfig(
        scenario=ScenarioConfig(name="synthetic", orders=300, hours=0.5, start_hour=8.0), seed=1
    ).to_dict(),
    indent=2,
).encode()


@SETTINGS
@given(data=st.one_of(damaged(CONFIG), odd_number_in(CONFIG)))
def test_config_json(tmp_path, monkeypatch, capsys, data: bytes) -> None:
    def body(root: Path) -> None:
        (root / "config.json").write_bytes(data)
        out = root / "run"
        attempt(monkeypatch, capsys, root, out, "simulate", "--config", str(root / "config.json"),
                "--out", str(out))  # fmt: skip

    in_fresh(tmp_path, body)


# -- TLC trip records ------------------------------------------------------------------------

N_TRIPS = 12


def _trips_table(fares: list[float]) -> pa.Table:
    t0 = np.datetime64("2021-03-01T08:00:00", "us")
    pick = [t0 + np.timedelta64(600 * i, "s") for i in range(len(fares))]
    drop = [p + np.timedelta64(900, "s") for p in pick]
    ts = pa.timestamp("us")
    return pa.table(
        {
            "lpep_pickup_datetime": pa.array(pick, type=ts),
            "lpep_dropoff_datetime": pa.array(drop, type=ts),
            "PULocationID": pa.array([161, 74, 41] * (len(fares) // 3), type=pa.int64()),
            "DOLocationID": pa.array([236, 75, 42] * (len(fares) // 3), type=pa.int64()),
            "fare_amount": pa.array(fares, type=pa.float64()),
        }
    )


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


TRIPS = _parquet_bytes(_trips_table([12.5] * N_TRIPS))
ODD_FARES = (*ODD_FLOATS, 10_000.5, 0.0, -3.0)


@SETTINGS
@given(
    data=damaged(TRIPS),
    bad=st.dictionaries(st.integers(0, N_TRIPS - 1), st.sampled_from(ODD_FARES), max_size=4),
)
def test_tlc_trip_records(tmp_path, monkeypatch, capsys, data: bytes, bad: dict) -> None:
    def body(root: Path) -> None:
        trips, out = root / "trips.parquet", root / "events.parquet"
        # bytes damaged: refused or read; odd fares: each row dropped and counted
        trips.write_bytes(data)
        attempt(monkeypatch, capsys, root, out, "convert-trips", str(trips), str(out))
        out.unlink(missing_ok=True)
        fares = [bad.get(i, 12.5) for i in range(N_TRIPS)]
        trips.write_bytes(_parquet_bytes(_trips_table(fares)))
        _, stdout, _ = attempt(monkeypatch, capsys, root, out, "convert-trips", str(trips),
                               str(out))  # fmt: skip
        assert dropped(stdout) == len(bad)

    in_fresh(tmp_path, body)


# -- KDD orders and grid ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def kdd(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A 37-cell grid table and 60 orders of one day, every one inside the grid."""
    folder = tmp_path_factory.mktemp("kdd")
    syn = SyntheticConfig(rings=3, centre_lat=30.66, centre_lng=104.06, speed_mps=3.0, detour=1.0)
    write_grid(synthetic_city(syn, 8), folder / "grid.csv")
    city = read_grid(folder / "grid.csv").city()
    drawn = synthetic_orders(syn, city, 200, np.random.default_rng(0))
    inside = np.ones(len(drawn), dtype=bool)
    for lat, lng in ((drawn.o_lat, drawn.o_lng), (drawn.d_lat, drawn.d_lng)):
        x, y = city.proj.to_xy(lat, lng)
        c = city.cell_of_xy(x, y)
        inside &= np.hypot(x - city.cell_x[c], y - city.cell_y[c]) < city.edge_m
    write_kdd_orders(folder / "orders.csv", drawn.take(np.flatnonzero(inside)[:60]),
                     day_epoch(KDD_DAY))  # fmt: skip
    return (folder / "grid.csv").read_bytes(), (folder / "orders.csv").read_bytes()


def _kdd_grid(monkeypatch, capsys, root: Path, grid: bytes, orders: bytes) -> tuple[int, str]:
    (root / "grid.csv").write_bytes(grid)
    (root / "orders.csv").write_bytes(orders)
    out = root / "out.csv"
    code, stdout, _ = attempt(
        monkeypatch, capsys, root, out, "kdd-grid", str(out), "--scenario", "kdd",
        "--grid", str(root / "grid.csv"), "--kdd-orders", str(root / "orders.csv"),
        "--date", KDD_DAY,
    )  # fmt: skip
    out.unlink(missing_ok=True)
    return code, stdout


@SETTINGS
@given(which=st.sampled_from(["grid", "orders"]), draw=st.data())
def test_kdd_files_damaged(tmp_path, monkeypatch, capsys, kdd, which: str, draw) -> None:
    grid, orders = kdd
    if which == "grid":
        grid = draw.draw(st.one_of(damaged(grid), odd_number_in(grid)))
    else:
        orders = draw.draw(damaged(orders))
    in_fresh(tmp_path, lambda root: _kdd_grid(monkeypatch, capsys, root, grid, orders))


@SETTINGS
@given(draw=st.data())
def test_kdd_orders_with_odd_numbers(tmp_path, monkeypatch, capsys, kdd, draw) -> None:
    """Each order row with a NaN, infinite or huge number in it is dropped and counted."""
    grid, orders = kdd
    rows = orders.decode().splitlines()
    picked = draw.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1, max_size=4))
    for i in picked:
        fields = rows[i].split(",")
        k = draw.draw(st.integers(1, len(fields) - 1))
        fields[k] = draw.draw(st.sampled_from(ODD_TEXT))
        rows[i] = ",".join(fields)
    baseline = {}

    def body(root: Path) -> None:
        code, stdout = _kdd_grid(monkeypatch, capsys, root, grid, orders)
        assert code == 0
        baseline["n"] = dropped(stdout)
        code, stdout = _kdd_grid(monkeypatch, capsys, root, grid, "\n".join(rows).encode())
        assert code == 0 and dropped(stdout) == baseline["n"] + len(picked), stdout

    in_fresh(tmp_path, body)


# -- run folders (event logs) ----------------------------------------------------------------

RUN_FILES = ("events.parquet", "orders.parquet", "drivers.parquet", "rounds.parquet")
RUN_JSON = ("log_meta.json", "metrics.json", "config.json")


@pytest.fixture(scope="module")
def run_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a small simulated run folder."""
    from v1d3.eval.run import run_simulation, write_run

    folder = tmp_path_factory.mktemp("run") / "run"
    cfg = RunConfig(scenario=ScenarioConfig(name="synthetic", orders=300, hours=0.5), seed=2)
    write_run(run_simulation(cfg), folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _check(monkeypatch, capsys, root: Path, files: dict[str, bytes]) -> tuple[int, str]:
    run = root / "run"
    run.mkdir()
    for name, data in files.items():
        (run / name).write_bytes(data)
    code, _, err = attempt(monkeypatch, capsys, root, None, "check", str(run), ok=(0, 1))
    if code == 1:  # violations: one line each, naming the run
        assert all(ln.startswith(f"{run}: ") for ln in err.splitlines() if ln.strip()), err
    return code, err


@SETTINGS
@given(which=st.sampled_from(RUN_FILES + RUN_JSON), draw=st.data())
def test_run_folder_damaged(tmp_path, monkeypatch, capsys, run_files, which: str, draw) -> None:
    valid = run_files[which]
    choices = [damaged(valid)] + ([odd_number_in(valid)] if which.endswith(".json") else [])
    files = {**run_files, which: draw.draw(st.one_of(*choices))}
    in_fresh(tmp_path, lambda root: _check(monkeypatch, capsys, root, files))


@SETTINGS
@given(
    table=st.sampled_from(["events", "orders"]),
    value=st.sampled_from([math.nan, math.inf, -math.inf]),
    draw=st.data(),
)
def test_run_folder_with_non_finite_numbers(
    tmp_path, monkeypatch, capsys, run_files, table: str, value: float, draw
) -> None:
    """A NaN or an infinity in a column that must be finite is a violation, never a pass."""
    t = pq.read_table(pa.BufferReader(run_files[f"{table}.parquet"]))
    finite = {"events": ("reward", "t_end_s", "start_lat", "end_lng", "pickup_m"),
              "orders": ("fare", "t_request_s", "origin_lng", "trip_s")}[table]  # fmt: skip
    col = draw.draw(st.sampled_from(finite))
    row = draw.draw(st.integers(0, t.num_rows - 1))
    values = t.column(col).to_numpy().copy()
    values[row] = value
    t = t.set_column(t.schema.get_field_index(col), col, pa.array(values))
    files = {**run_files, f"{table}.parquet": _parquet_bytes(t)}

    def body(root: Path) -> None:
        code, err = _check(monkeypatch, capsys, root, files)
        assert code == 1 and f"{table}: {col} is not a finite number" in err, err

    in_fresh(tmp_path, body)


# -- model files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A tabular-td model file trained on the small synthetic scenario."""
    from v1d3.cli.main import main

    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["v1d3", "train", *SMALL, "--method", "tabular-td", "--days", "1",
                                "--out", str(folder)])  # fmt: skip
        with pytest.raises(SystemExit) as e:
            main()
    assert e.value.code in (0, None)
    return (folder / "tabular-td.pt").read_bytes()


class _Code:
    """A pickled global: what a tampered model file holds instead of tensors."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("this ran",))


def _odd_model(valid: bytes, how: str, value: float) -> bytes:
    payload = torch.load(pa.BufferReader(valid), weights_only=True)  # type: ignore[arg-type]
    if how == "tampered":
        payload["state"]["table"] = _Code()
    else:
        payload["state"]["table"].view(-1)[0] = value
    buf = pa.BufferOutputStream()
    torch.save(payload, buf)  # type: ignore[arg-type]
    return buf.getvalue().to_pybytes()


@SETTINGS
@given(draw=st.data())
def test_model_files(tmp_path, monkeypatch, capsys, model, draw) -> None:
    odd = st.tuples(st.sampled_from(["tampered", "value"]), st.sampled_from(ODD_FLOATS)).map(
        lambda t: _odd_model(model, *t)
    )
    data = draw.draw(st.one_of(damaged(model), odd))

    def body(root: Path) -> None:
        (root / "models").mkdir()
        (root / "models" / "tabular-td.pt").write_bytes(data)
        out = root / "run"
        args = ["--dispatch", "tabular-td", "--models", str(root / "models"), "--out", str(out)]
        _, stdout, _ = attempt(monkeypatch, capsys, root, out, "simulate", *SMALL, *args)
        assert "this ran" not in stdout

    in_fresh(tmp_path, body)
