"""Reading a run folder back: a damaged file is a one-line DataError naming it, never a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_inprocess import run_v1d3
from v1d3.errors import DataError
from v1d3.sim.checker import check_run
from v1d3.sim.log import EVENT_KINDS, RUN_LOG_COLUMNS, RunLog


@pytest.fixture(scope="module")
def run_folder(synthetic_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runlog") / "run"
    folder.mkdir()
    synthetic_run.log.write(folder)
    return folder


def _copy(run_folder: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run_folder, out)
    return out


def _edit(folder: Path, table: str, fn) -> None:
    path = folder / f"{table}.parquet"
    pq.write_table(fn(pq.read_table(path)), path)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("events", "kind"),
        ("events", "driver_id"),
        ("orders", "status"),
        ("orders", "t_request_s"),
        ("drivers", "driver_id"),
        ("rounds", "t_s"),
    ],
)
def test_missing_column_names_file_and_column(run_folder, tmp_path, table, column) -> None:
    folder = _copy(run_folder, tmp_path)
    _edit(folder, table, lambda t: t.drop([column]))
    with pytest.raises(DataError, match=rf"{table}\.parquet: missing column\(s\) {column}$"):
        RunLog.read(folder)


def test_column_that_does_not_convert(run_folder, tmp_path) -> None:
    folder = _copy(run_folder, tmp_path)
    _edit(folder, "events", lambda t: t.set_column(0, "kind", pa.array(["x"] * t.num_rows)))
    with pytest.raises(DataError, match=r"events\.parquet: column kind holds string values"):
        RunLog.read(folder)
    folder = _copy(run_folder, tmp_path / "b")
    i = pq.read_schema(folder / "orders.parquet").get_field_index("status")
    _edit(folder, "orders", lambda t: t.set_column(i, "status", pa.nulls(t.num_rows, pa.int8())))
    with pytest.raises(DataError, match=r"orders\.parquet: column status has \d+ missing value"):
        RunLog.read(folder)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('{"end_s": 1800, "pickup_radius_m": 2000}', "field start_s must be a finite number"),
        (
            '{"start_s": 0, "end_s": 1800, "pickup_radius_m": "far"}',
            "field pickup_radius_m must be a finite number",
        ),
    ],
)
def test_bad_log_meta(run_folder, tmp_path, text, needle) -> None:
    folder = _copy(run_folder, tmp_path)
    (folder / "log_meta.json").write_text(text)
    with pytest.raises(DataError, match=r"log_meta\.json: " + needle):
        RunLog.read(folder)


@pytest.mark.parametrize("damage", ["bad-json", "no-t_request_s", "no-orders"])
def test_cli_check_damaged_run_is_one_line(run_folder, tmp_path, monkeypatch, capsys, damage):
    folder = _copy(run_folder, tmp_path)
    if damage == "bad-json":
        (folder / "log_meta.json").write_text("[")
    elif damage == "no-t_request_s":
        _edit(folder, "orders", lambda t: t.drop(["t_request_s"]))
    else:  # zero orders but trips naming them: a violation, not a crash
        _edit(folder, "orders", lambda t: t.slice(0, 0))
    code, out, err = run_v1d3(monkeypatch, capsys, "check", str(folder))
    assert "Traceback" not in err and "all invariants hold" not in out
    if damage == "no-orders":
        assert code == 1
        assert "order not in the orders table" in err
    else:
        assert code == 2
        assert len(err.strip().splitlines()) == 1, err
        assert str(folder) in err


def _no_orders_log(log: RunLog) -> RunLog:
    """The run's drivers, each only coming online and going offline where it started."""
    ev = log.events
    start = np.flatnonzero(ev["kind"] == EVENT_KINDS.index("shift_start"))
    ends = {k: v[start].copy() for k, v in ev.items()}
    ends["kind"][:] = EVENT_KINDS.index("shift_end")
    d = ends["driver_id"]
    ends["t_start_s"] = ends["t_end_s"] = log.drivers["t_off_s"][d].astype(np.float64)
    both = {k: np.concatenate([ev[k][start], ends[k]]) for k in ev}
    order = np.lexsort((both["driver_id"], both["t_start_s"]))
    return RunLog(
        events={k: v[order] for k, v in both.items()},
        orders={k: v[:0] for k, v in log.orders.items()},
        drivers=log.drivers,
        rounds={k: v[:0] for k, v in log.rounds.items()},
        meta=dict(log.meta),
    )


def test_zero_orders_check_cleanly_and_trips_without_orders_are_violations(
    synthetic_run, tmp_path
) -> None:
    log = _no_orders_log(synthetic_run.log)
    assert check_run(log).ok, check_run(log).violations
    log.write(tmp_path)
    back = RunLog.read(tmp_path)
    assert back.orders["status"].size == 0 and back.orders["status"].dtype == np.int8
    assert check_run(back).ok
    # the real run's events against an empty orders table, one driver unknown: reported
    ev = {k: v.copy() for k, v in synthetic_run.log.events.items()}
    start = np.flatnonzero(ev["kind"] == EVENT_KINDS.index("shift_start"))[0]
    ev["driver_id"][start] = log.drivers["driver_id"].size + 5
    bad = RunLog(
        events=ev, orders=back.orders, drivers=log.drivers, rounds=log.rounds, meta=log.meta
    )
    rep = check_run(bad)
    assert any("unknown driver id" in v for v in rep.violations)
    assert any("not in the orders table" in v for v in rep.violations)


def test_a_file_or_a_missing_path_is_no_run_folder(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(DataError, match="afile: a file, not a run folder"):
        RunLog.read(f)
    with pytest.raises(DataError, match="nowhere: not found"):
        RunLog.read(tmp_path / "nowhere")


def test_written_tables_have_the_declared_column_types(synthetic_run, tmp_path: Path) -> None:
    # a log whose arrays drifted from the declared types (int64 ids, float32 times, ...)
    log = synthetic_run.log
    widened = {
        name: {k: np.asarray(v, dtype=np.float32 if v.dtype.kind == "f" else np.int64)
               if v.dtype.kind in "fiu" else v for k, v in getattr(log, name).items()}
        for name in RunLog.TABLES
    }  # fmt: skip
    RunLog(meta=log.meta, **widened).write(tmp_path)
    for name, types in RUN_LOG_COLUMNS.items():
        schema = pq.read_schema(tmp_path / f"{name}.parquet")
        for column, dtype in types.items():
            assert schema.field(column).type == pa.from_numpy_dtype(np.dtype(dtype)), (name, column)


def test_column_name_that_is_not_utf8(run_folder, tmp_path) -> None:
    """A damaged byte in a column name ended in a UnicodeDecodeError traceback."""
    folder = _copy(run_folder, tmp_path)
    path = folder / "orders.parquet"
    data = path.read_bytes()
    at = data.index(b"t_request_s")  # the name in the file's schema (thrift, not base64)
    path.write_bytes(data[:at] + b"\x80" + data[at + 1 :])
    with pytest.raises(DataError, match=r"orders\.parquet: not a readable parquet file"):
        RunLog.read(folder)
