"""The run's logs: every change of money or driver state, as columns.

Four tables, written as parquet files in the run folder (schema in ``docs/log-schema.md``):

- ``events``: one row per driver transition — ``trip``, ``cancel``, ``idle_move``, ``reposition``,
  ``shift_start``, ``shift_end`` — with start and end time and position and the reward earned.
  A driver's idle waiting is the gap between two consecutive events other than cancellations
  (which can fall inside a repositioning trip). This is also the trajectory
  format that value functions learn from; :mod:`v1d3.demand.tlc` writes it from real trip records.
- ``orders``: one row per order with its outcome.
- ``drivers``: one row per driver (shift, managed flag).
- ``rounds``: one row per dispatch round that had work (sizes and latency).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v1d3.errors import DataError, first_line
from v1d3.files import atomic_file
from v1d3.text_files import json_text, read_json

__all__ = [
    "EVENT_KINDS",
    "ORDER_STATUS",
    "EventLog",
    "RunLog",
    "EVENT_COLUMNS",
    "write_events",
    "read_events",
]

EVENT_KINDS = ("trip", "cancel", "idle_move", "reposition", "shift_start", "shift_end")
"""Event kinds; the ``kind`` column stores their index into this tuple."""
TRIP, CANCEL, IDLE_MOVE, REPOSITION, SHIFT_START, SHIFT_END = range(6)

ORDER_STATUS = ("open", "completed", "cancelled", "expired")
"""Order outcomes; ``orders.status`` stores their index into this tuple."""

EVENT_COLUMNS: dict[str, Any] = {
    "kind": np.int8,
    "driver_id": np.int32,
    "order_id": np.int64,
    "t_start_s": np.float64,
    "t_end_s": np.float64,
    "start_lat": np.float64,
    "start_lng": np.float64,
    "end_lat": np.float64,
    "end_lng": np.float64,
    "start_cell": np.int32,
    "end_cell": np.int32,
    "reward": np.float64,
    "pickup_m": np.float64,
    "pickup_s": np.float64,
}
"""Column names and dtypes of the event table."""


_DEFAULTS: dict[str, float] = {
    "order_id": -1,
    "start_cell": -1,
    "end_cell": -1,
    "reward": 0.0,
    "pickup_m": 0.0,
    "pickup_s": 0.0,
}


class EventLog:
    """Collects events during a run; :meth:`finish` builds the columns once, at the end.

    :meth:`add` only keeps references (the hot loop passes freshly indexed arrays), so logging
    costs a list append per call.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[int, np.ndarray, dict[str, Any]]] = []

    def add(self, kind: int, driver: np.ndarray, **cols: Any) -> None:
        if len(driver):
            self._parts.append((kind, driver, cols))

    def finish(self) -> dict[str, np.ndarray]:
        sizes = [len(d) for _, d, _ in self._parts]
        total = int(sum(sizes))
        out = {name: np.empty(total, dtype=dtype) for name, dtype in EVENT_COLUMNS.items()}
        pos = 0
        for (kind, driver, cols), n in zip(self._parts, sizes, strict=True):
            sl = slice(pos, pos + n)
            out["kind"][sl] = kind
            out["driver_id"][sl] = driver
            for name in EVENT_COLUMNS:
                if name in ("kind", "driver_id"):
                    continue
                v = cols.get(name)
                out[name][sl] = _DEFAULTS.get(name, np.nan) if v is None else v
            pos += n
        # stable order: by start time, then driver
        order = np.lexsort((out["driver_id"], out["t_start_s"]))
        return {k: v[order] for k, v in out.items()}


@dataclass(eq=False)
class RunLog:
    """Everything a finished run recorded; metrics and the checker read only this."""

    events: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    drivers: dict[str, np.ndarray]
    rounds: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    """Scalars: weekday, start_s, end_s, pickup_radius_m, round_s, dropped_rows, wall_s, ..."""

    TABLES = ("events", "orders", "drivers", "rounds")

    def write(self, folder: Path) -> None:
        """Write the four parquet tables and ``log_meta.json`` into an existing folder, each
        column of :data:`RUN_LOG_COLUMNS` with its declared type (the one :meth:`read` checks)."""
        for name in self.TABLES:
            types = RUN_LOG_COLUMNS[name]
            table = pa.table(
                {
                    k: pa.array(np.asarray(v, dtype=types[k]) if k in types else v)
                    for k, v in getattr(self, name).items()
                }
            )
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
        (folder / "log_meta.json").write_text(
            json_text(self.meta, "log_meta.json", indent=2), encoding="utf-8"
        )

    @classmethod
    def read(cls, folder: Path) -> RunLog:
        """Read a run folder's logs back, checking every table's columns and ``log_meta.json``.

        Raises :class:`DataError` naming the file and what is wrong: a missing column, a column
        whose values cannot be converted to its type, missing values in an integer column, a
        ``log_meta.json`` that is not a JSON object or lacks a numeric field.
        """
        folder = Path(folder)
        if not folder.is_dir():
            what = "not found" if not os.path.lexists(folder) else "a file, not a run folder"
            raise DataError(f"{folder}: {what} (expected a folder written by v1d3 simulate)")
        tables = {
            name: _read_columns(folder / f"{name}.parquet", RUN_LOG_COLUMNS[name], keep_extra=True)
            for name in cls.TABLES
        }
        return cls(meta=_read_meta(folder / "log_meta.json"), **tables)


ORDER_COLUMNS: dict[str, Any] = {
    "order_id": np.int64,
    "source_id": np.int64,
    "t_request_s": np.float64,
    "status": np.int8,
    "driver_id": np.int32,
    "t_assign_s": np.float64,
    "t_end_s": np.float64,
    "pickup_m": np.float64,
    "pickup_s": np.float64,
    "fare": np.float64,
    "trip_s": np.float64,
    "trip_m": np.float64,
    "origin_lat": np.float64,
    "origin_lng": np.float64,
    "dest_lat": np.float64,
    "dest_lng": np.float64,
    "origin_cell": np.int32,
    "dest_cell": np.int32,
}
DRIVER_COLUMNS: dict[str, Any] = {
    "driver_id": np.int32,
    "t_on_s": np.float64,
    "t_off_s": np.float64,
    "managed": np.bool_,
}
ROUND_COLUMNS: dict[str, Any] = {
    "t_s": np.float64,
    "orders": np.int32,
    "drivers": np.int32,
    "pairs": np.int32,
    "matched": np.int32,
    "ms": np.float64,
}
RUN_LOG_COLUMNS: dict[str, dict[str, Any]] = {
    "events": EVENT_COLUMNS,
    "orders": ORDER_COLUMNS,
    "drivers": DRIVER_COLUMNS,
    "rounds": ROUND_COLUMNS,
}
"""The columns (and types) every run folder's table must have (``docs/log-schema.md``)."""

_META_NUMBERS = ("start_s", "end_s", "pickup_radius_m")
"""``log_meta.json`` fields the checker and the metrics need, as finite numbers."""
_META_OPTIONAL_NUMBERS = ("round_s", "wall_s", "dropped_rows")


def _read_columns(
    path: Path, schema: dict[str, Any], keep_extra: bool = False
) -> dict[str, np.ndarray]:
    """Read a parquet table, check that it has ``schema``'s columns, convert them to its types.

    Columns outside ``schema`` are kept as they are with ``keep_extra``, else dropped.
    """
    try:
        t = pq.read_table(path)
        names = t.column_names  # decoded here: a damaged file's may not be UTF-8
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, ValueError, pa.ArrowException) as e:
        raise DataError(f"{path}: not a readable parquet file ({first_line(e)})") from None
    if len(set(names)) < len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise DataError(f"{path}: duplicate column(s) {', '.join(dup)}")
    missing = [c for c in schema if c not in names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    out: dict[str, np.ndarray] = {}
    for c in names:
        col = t.column(c)
        if c not in schema:
            if keep_extra:
                out[c] = col.to_numpy()
            continue
        dtype = np.dtype(schema[c])
        try:
            col = col.cast(pa.from_numpy_dtype(dtype))
        except (pa.ArrowException, ValueError) as e:
            raise DataError(
                f"{path}: column {c} holds {t.schema.field(c).type} values that do not convert "
                f"to {dtype} ({first_line(e)})"
            ) from None
        if col.null_count and dtype.kind != "f":
            raise DataError(f"{path}: column {c} has {col.null_count} missing value(s)")
        out[c] = np.asarray(col.to_numpy(), dtype=dtype)
    return out


def _read_meta(path: Path) -> dict[str, Any]:
    """Read a run's ``log_meta.json``: a JSON object with the numeric fields readers need."""
    meta = read_json(path, "run folder's log_meta.json")
    if not isinstance(meta, dict):
        kind = "an array" if isinstance(meta, list) else f"a {type(meta).__name__}"
        raise DataError(f"{path}: expected a JSON object, got {kind}")
    for key in _META_NUMBERS + _META_OPTIONAL_NUMBERS:
        if key not in meta and key in _META_OPTIONAL_NUMBERS:
            continue
        v = meta.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            got = "missing" if key not in meta else repr(v)
            raise DataError(f"{path}: field {key} must be a finite number, got {got}")
    return meta


def write_events(events: dict[str, np.ndarray], path: Path) -> None:
    """Write an event (trajectory) table to parquet atomically."""
    table = pa.table(
        {k: pa.array(np.asarray(events[k], dtype=t)) for k, t in EVENT_COLUMNS.items()}
    )
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_events(path: Path) -> dict[str, np.ndarray]:
    """Read an event (trajectory) table, checking its columns."""
    return _read_columns(Path(path), EVENT_COLUMNS)
