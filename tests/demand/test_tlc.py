"""The nyc-tlc replay: reading TLC trip records, one replayed day, the event-log converter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from v1d3.demand.config import ScenarioConfig, TlcConfig
from v1d3.demand.tlc import (
    DRIVERS_PER_1000_ORDERS,
    DROP_REASONS,
    default_trips_path,
    read_trip_records,
    tlc_city,
    tlc_day,
    tlc_zones,
    trips_to_events,
)
from v1d3.errors import ConfigError, DataError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.geo.projection import haversine_m
from v1d3.sim.config import SimConfig
from v1d3.sim.log import EVENT_COLUMNS, EVENT_KINDS, read_events
from v1d3.sim.log import ORDER_STATUS as STATUS

Row = tuple[Any, Any, Any, Any, Any]

# (pick-up, drop-off, PULocationID, DOLocationID, fare_amount)
GOOD: list[Row] = [
    ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, 12.5),  # Monday
    ("2021-03-01 09:30:00", "2021-03-01 09:45:30", 74, 75, 8.0),
    ("2021-03-02 23:50:00", "2021-03-03 00:10:00", 57, 104, 20.0),  # shared polygons
    ("2021-03-03 07:00:00", "2021-03-03 07:30:00", 132, 161, 52.0),  # Wednesday
    ("2021-03-03 07:05:00", "2021-03-03 07:12:00", 41, 42, 6.5),
]
BAD: dict[str, list[Row]] = {
    "null_field": [
        (None, "2021-03-01 08:20:00", 161, 236, 10.0),
        ("2021-03-01 08:00:00", None, 161, 236, 10.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", None, 236, 10.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, None, 10.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, None),
    ],
    "outside_month": [
        ("2009-01-01 00:05:00", "2009-01-01 00:25:00", 161, 236, 10.0),
        ("2021-02-28 23:00:00", "2021-02-28 23:10:00", 161, 236, 10.0),
    ],
    "unknown_zone": [
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 264, 236, 10.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 265, 10.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 999, 236, 10.0),
        # beyond 2**53: the exact conversion to float raised ArrowInvalid (a traceback)
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 2**60 + 1, 236, 10.0),
    ],
    "zero_duration": [("2021-03-01 08:00:00", "2021-03-01 08:00:00", 161, 236, 10.0)],
    "pickup_after_dropoff": [("2021-03-01 08:00:00", "2021-03-01 07:59:00", 161, 236, 10.0)],
    "too_long": [("2021-03-01 08:00:00", "2021-03-01 12:00:01", 161, 236, 10.0)],
    "nonpositive_fare": [
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, 0.0),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, -5.0),
    ],
    "fare_too_high": [  # above MAX_FARE; 1e308 summed to an infinite income
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, 10_000.01),
        ("2021-03-01 08:00:00", "2021-03-01 08:20:00", 161, 236, 1e308),
    ],
}


def _ts(values: list[Any], unit: str) -> pa.Array:
    arr = [None if v is None else np.datetime64(v.replace(" ", "T"), unit) for v in values]
    return pa.array(arr, type=pa.timestamp(unit))


def write_trips(path: Path, rows: list[Row], schema: str = "yellow", unit: str = "us") -> Path:
    """A tiny TLC-style parquet file, with the extra columns real files have."""
    p = "tpep" if schema == "yellow" else "lpep"
    cols = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "VendorID": pa.array([2] * len(rows), type=pa.int64()),
            f"{p}_pickup_datetime": _ts(list(cols[0]), unit),
            f"{p}_dropoff_datetime": _ts(list(cols[1]), unit),
            "passenger_count": pa.array([1.0] * len(rows)),
            "PULocationID": pa.array(list(cols[2]), type=pa.int64()),
            "DOLocationID": pa.array(list(cols[3]), type=pa.int64()),
            "fare_amount": pa.array(list(cols[4]), type=pa.float64()),
            "ehail_fee": pa.nulls(len(rows)),
            "total_amount": pa.array([1.0] * len(rows)),
        }
    )
    pq.write_table(table, path)
    return path


def _unix(s: str) -> float:
    return float(np.datetime64(s.replace(" ", "T"), "s").astype(np.int64))


# reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "unit"), [("yellow", "us"), ("green", "us"), ("yellow", "ns")])
def test_read_both_schemas(tmp_path: Path, schema: str, unit: str) -> None:
    path = write_trips(tmp_path / "t.parquet", GOOD, schema, unit)
    cols, dropped = read_trip_records(path)
    assert dropped == dict.fromkeys(DROP_REASONS, 0)
    assert cols["row"].tolist() == list(range(len(GOOD)))
    assert cols["pickup_s"].tolist() == [_unix(r[0]) for r in GOOD]
    assert cols["dropoff_s"].tolist() == [_unix(r[1]) for r in GOOD]
    assert cols["fare"].tolist() == [r[4] for r in GOOD]
    assert cols["pu_location"].tolist() == [r[2] for r in GOOD]
    zones = tlc_zones()
    # 57 and 104 have no polygon of their own: they use 56's and 103's
    assert zones.ids[cols["pu_zone"]].tolist() == [161, 74, 56, 132, 41]
    assert zones.ids[cols["do_zone"]].tolist() == [236, 75, 103, 161, 42]


def test_unusable_rows_dropped_by_reason(tmp_path: Path) -> None:
    rows = list(GOOD)
    for bad in BAD.values():
        rows.extend(bad)
    rows.append(GOOD[0])
    path = write_trips(tmp_path / "t.parquet", rows, "green")
    cols, dropped = read_trip_records(path)
    assert dropped == {k: len(v) for k, v in BAD.items()}
    assert list(dropped) == list(DROP_REASONS)
    assert cols["row"].tolist() == [*range(len(GOOD)), len(rows) - 1]


def _expect_data_error(path: Path, *words: str) -> None:
    with pytest.raises(DataError) as err:
        read_trip_records(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    for w in words:
        assert w in msg


def test_missing_columns(tmp_path: Path) -> None:
    table = pq.read_table(write_trips(tmp_path / "t.parquet", GOOD))
    for drop, words in [
        ("fare_amount", ["missing column fare_amount", "TLC trip-record"]),
        ("PULocationID", ["missing column PULocationID"]),
        ("DOLocationID", ["missing column DOLocationID"]),
        ("tpep_pickup_datetime", ["tpep_pickup_datetime or lpep_pickup_datetime"]),
        ("tpep_dropoff_datetime", ["missing column tpep_dropoff_datetime"]),
    ]:
        path = tmp_path / f"no_{drop}.parquet"
        pq.write_table(table.drop_columns([drop]), path)
        _expect_data_error(path, *words)


def test_mistyped_columns(tmp_path: Path) -> None:
    table = pq.read_table(write_trips(tmp_path / "t.parquet", GOOD, "green"))
    n = table.num_rows
    for name, bad in [
        ("fare_amount", pa.array(["12.5"] * n)),
        ("PULocationID", pa.array(["161"] * n)),
        ("DOLocationID", pa.nulls(n)),
        ("lpep_pickup_datetime", pa.array(["2021-03-01 08:00:00"] * n)),
        ("lpep_dropoff_datetime", pa.array([1.0] * n)),
    ]:
        i = table.column_names.index(name)
        path = tmp_path / f"bad_{name}.parquet"
        pq.write_table(table.set_column(i, name, bad), path)
        _expect_data_error(path, f"column {name} has type", "expected")


def test_unreadable_files(tmp_path: Path) -> None:
    text = tmp_path / "trips.parquet"
    text.write_text("VendorID,fare_amount\n1,2.5\n")
    _expect_data_error(text, "unreadable", "TLC trip-record")
    _expect_data_error(tmp_path / "nope.parquet", "unreadable")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    _expect_data_error(empty, "unreadable")


def test_integer_fares_and_float_zone_ids_accepted(tmp_path: Path) -> None:
    table = pq.read_table(write_trips(tmp_path / "t.parquet", GOOD))
    i = table.column_names.index("PULocationID")
    table = table.set_column(i, "PULocationID", pc.cast(table.column(i), pa.float64()))
    i = table.column_names.index("fare_amount")
    table = table.set_column(i, "fare_amount", pa.array([12, 8, 20, 52, 6], type=pa.int32()))
    pq.write_table(table, tmp_path / "u.parquet")
    cols, _ = read_trip_records(tmp_path / "u.parquet")
    assert cols["pu_location"].tolist() == [r[2] for r in GOOD]
    assert cols["fare"].tolist() == [12.0, 8.0, 20.0, 52.0, 6.0]


# one replayed day ------------------------------------------------------------------------------


def _day(path: Path, seed: int = 0, **kw: Any) -> Any:
    cfg = ScenarioConfig(name="nyc-tlc", nyc_tlc=TlcConfig(trips=str(path)), **kw)
    return tlc_day(cfg, np.random.default_rng(seed))


def test_day_by_weekday_and_date(tmp_path: Path) -> None:
    rows = list(GOOD) + BAD["zero_duration"] + BAD["null_field"][:1]
    path = write_trips(tmp_path / "t.parquet", rows)
    wed = _day(path, weekday=2)  # first Wednesday: 2021-03-03
    assert wed.epoch_s == _unix("2021-03-03 00:00:00")
    assert sorted(wed.orders.source_id.tolist()) == [3, 4]
    mon = _day(path, weekday=0)
    assert mon.epoch_s == _unix("2021-03-01 00:00:00")
    assert mon.orders.source_id.tolist() == [0, 1]
    # the day's unusable rows are counted, and the row without a pick-up time (of no day) too
    assert mon.orders.dropped_rows == 2 and mon.orders.drop_reasons["zero_duration"] == 1
    assert wed.orders.dropped_rows == 1 and wed.orders.drop_reasons["null_field"] == 1
    tue = _day(path, weekday=1, date="2021-03-02")
    assert tue.epoch_s == _unix("2021-03-02 00:00:00")
    # a trip past midnight keeps its real duration
    assert tue.orders.trip_s.tolist() == [20 * 60.0]
    with pytest.raises(ConfigError, match=r"t\.parquet.*Sunday"):
        _day(path, weekday=6)
    with pytest.raises(ConfigError, match=r"t\.parquet.*2021-03-09.*2021-03-01\.\.2021-03-03"):
        _day(path, weekday=1, date="2021-03-09")
    # an explicit date fixes the weekday, whatever cfg.weekday says
    assert _day(path, weekday=2, date="2021-03-02").weekday == 1
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        _day(path, date="03/02/2021")


def test_day_orders(tmp_path: Path) -> None:
    path = write_trips(tmp_path / "t.parquet", GOOD)
    day = _day(path, weekday=0)
    o = day.orders
    assert o.t_request.tolist() == [8 * 3600.0, 9.5 * 3600.0]
    assert o.trip_s.tolist() == [1200.0, 930.0]
    assert o.fare.tolist() == [12.5, 8.0]
    zones = tlc_zones()
    assert zones.ids[o.o_zone].tolist() == [161, 74]
    assert zones.ids[o.d_zone].tolist() == [236, 75]
    for i in range(len(o)):
        assert zones.contains(int(o.o_zone[i]), o.o_lat[i], o.o_lng[i])
        assert zones.contains(int(o.d_zone[i]), o.d_lat[i], o.d_lng[i])
    np.testing.assert_allclose(o.trip_m, haversine_m(o.o_lat, o.o_lng, o.d_lat, o.d_lng) * 1.3)
    assert day.default_drivers == 10
    assert day.city is tlc_city(8) and day.city.zones is zones
    assert day.city.h3_resolution == 8
    # every zone centroid lies in (or next to) a cell of the city
    c = day.city.cell_of(zones.centroid_lat, zones.centroid_lng)
    d = haversine_m(
        zones.centroid_lat, zones.centroid_lng, day.city.cell_lat[c], day.city.cell_lng[c]
    )
    assert d.max() < 2 * day.city.edge_m


def test_orders_subsample_deterministic(tmp_path: Path) -> None:
    rows = [
        (f"2021-03-03 {h:02d}:{m:02d}:00", f"2021-03-03 {h:02d}:{m + 5:02d}:00", 161, 236, 9.0)
        for h in range(6, 18)
        for m in range(0, 50, 10)
    ]
    path = write_trips(tmp_path / "t.parquet", rows)
    a = _day(path, seed=1, orders=20).orders
    b = _day(path, seed=1, orders=20).orders
    c = _day(path, seed=2, orders=20).orders
    assert len(a) == 20 and len(np.unique(a.source_id)) == 20
    assert np.array_equal(a.source_id, b.source_id) and np.array_equal(a.o_lat, b.o_lat)
    assert not np.array_equal(a.source_id, c.source_id)
    assert np.all(np.diff(a.t_request) >= 0)
    assert len(_day(path, orders=len(rows)).orders) == len(rows)
    with pytest.raises(ConfigError, match="orders=61 exceeds the 60 usable trips"):
        _day(path, orders=61)


# the shipped month -----------------------------------------------------------------------------


def test_shipped_file_day() -> None:
    day = tlc_day(ScenarioConfig(name="nyc-tlc", date="2021-03-10"), np.random.default_rng(0))
    o = day.orders
    # an independent count straight from the parquet file
    t = pq.read_table(default_trips_path())
    pu, do = t["lpep_pickup_datetime"], t["lpep_dropoff_datetime"]
    on_day = pc.equal(pc.cast(pu, pa.date32()), pa.scalar(dt.date(2021, 3, 10)))
    dur_s = pc.divide(pc.cast(pc.subtract(do, pu), pa.int64()), 1e6)
    ok = pc.and_(on_day, pc.greater(t["fare_amount"], 0))
    ok = pc.and_(ok, pc.and_(pc.greater(dur_s, 0), pc.less_equal(dur_s, 4 * 3600)))
    for c in ("PULocationID", "DOLocationID"):
        ok = pc.and_(ok, pc.and_(pc.greater_equal(t[c], 1), pc.less_equal(t[c], 263)))
    raw = pc.sum(on_day).as_py()
    assert raw == 3192
    assert len(o) == pc.sum(ok).as_py()
    assert 3100 < len(o) < 3192
    assert len(o) + o.dropped_rows == raw
    assert o.fare.sum() == pytest.approx(pc.sum(pc.filter(t["fare_amount"], ok)).as_py())
    assert day.epoch_s == dt.datetime(2021, 3, 10, tzinfo=dt.UTC).timestamp()
    assert 0 <= o.t_request.min() and o.t_request.max() < 86400
    assert day.default_drivers == round(DRIVERS_PER_1000_ORDERS * len(o) / 1000)


@pytest.mark.slow
def test_replay_answers_nearly_everything() -> None:
    sc = ScenarioConfig(name="nyc-tlc", date="2021-03-10", drivers=3000, start_hour=7, hours=2)
    fares = {}
    for cancel in (True, False):
        res = run_simulation(RunConfig(scenario=sc, sim=SimConfig(cancellations=cancel), seed=3))
        m, orders = res.metrics, res.log.orders
        assert m["orders"] > 300 and m["answer_rate"] > 0.9
        answered = np.isin(orders["status"], [STATUS.index("completed"), STATUS.index("cancelled")])
        assert m["total_income"] <= orders["fare"][answered].sum() + 1e-6
        assert m["total_income"] >= 0.9 * orders["fare"][answered].sum()
        assert m["dropped_rows"] == 36
        fares[cancel] = (m["total_income"], orders["fare"].sum())
    income, all_fares = fares[False]
    assert income >= 0.9 * all_fares


# trajectory log --------------------------------------------------------------------------------


def test_trips_to_events(tmp_path: Path) -> None:
    rows = list(GOOD) + BAD["too_long"] + BAD["unknown_zone"][:1]
    path = write_trips(tmp_path / "t.parquet", rows, "green")
    out = tmp_path / "logs" / "events.parquet"
    dropped = trips_to_events(path, out)
    assert dropped["too_long"] == 1 and dropped["unknown_zone"] == 1
    ev = read_events(out)
    assert list(ev) == list(EVENT_COLUMNS)
    assert not list(out.parent.glob(".*tmp"))
    n = len(GOOD)
    assert np.all(ev["kind"] == EVENT_KINDS.index("trip"))
    assert ev["driver_id"].tolist() == list(range(n))
    assert ev["order_id"].tolist() == list(range(n))
    # all dates: seconds after the first date's midnight (2021-03-01), days added
    t0 = _unix("2021-03-01 00:00:00")
    assert ev["t_start_s"].tolist() == [_unix(r[0]) - t0 for r in GOOD]
    assert ev["t_end_s"].tolist() == [_unix(r[1]) - t0 for r in GOOD]
    assert ev["t_start_s"][3] == 2 * 86400 + 7 * 3600
    assert ev["reward"].tolist() == [r[4] for r in GOOD]
    assert np.all(ev["start_cell"] == -1) and np.all(ev["end_cell"] == -1)
    assert np.all(ev["pickup_m"] == 0) and np.all(ev["pickup_s"] == 0)
    zones = tlc_zones()
    for i, r in enumerate(GOOD):
        z = int(zones.index_of([{57: 56, 104: 103}.get(r[2], r[2])])[0])
        assert zones.contains(z, ev["start_lat"][i], ev["start_lng"][i])
    # fixed seed: the same file gives the same log
    trips_to_events(path, tmp_path / "again.parquet")
    again = read_events(tmp_path / "again.parquet")
    assert all(np.array_equal(ev[k], again[k]) for k in EVENT_COLUMNS)

    # one date: seconds after that date's midnight, only its trips and its drops
    dropped = trips_to_events(path, out, date="2021-03-03")
    ev = read_events(out)
    assert ev["order_id"].tolist() == [3, 4]
    assert ev["t_start_s"].tolist() == [7 * 3600.0, 7 * 3600.0 + 300]
    assert sum(dropped.values()) == 0
    with pytest.raises(ConfigError, match="no usable trips on date 2021-03-05"):
        trips_to_events(path, out, date="2021-03-05")


def test_cli_convert_trips_reports_drops_by_reason(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from v1d3.cli.main import app

    rows = list(GOOD) + BAD["too_long"] + BAD["unknown_zone"] + BAD["null_field"][:1]
    path = write_trips(tmp_path / "t.parquet", rows, "green")
    runner = CliRunner()
    r = runner.invoke(app, ["convert-trips", str(path), str(tmp_path / "e.parquet")])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "dropped rows: 6 (null_field: 1, unknown_zone: 4, too_long: 1)" in out
    # one date: that date's drops, and the row without a pick-up time (it has no date)
    args = ["convert-trips", str(path), str(tmp_path / "d.parquet"), "--date", "2021-03-01"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "dropped rows: 6 (null_field: 1, unknown_zone: 4, too_long: 1)" in " ".join(
        r.output.split()
    )
    r = runner.invoke(app, [*args[:3], "--date", "2021-03-03"])
    assert r.exit_code == 0, r.output
    assert "dropped rows: 1 (null_field: 1)" in " ".join(r.output.split())
