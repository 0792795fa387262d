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

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v1d3.errors import DataError

__all__ = [
    "EVENT_KINDS",
    "ORDER_STATUS",
    "EventLog",
    "RunLog",
    "EVENT_COLUMNS",
    "write_events",
    "read_events",
    "atomic_dir",
    "atomic_write_text",
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
        """Write the four parquet tables and ``log_meta.json`` into an existing folder."""
        for name in self.TABLES:
            table = pa.table({k: pa.array(v) for k, v in getattr(self, name).items()})
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
        (folder / "log_meta.json").write_text(json.dumps(self.meta, indent=2, default=float))

    @classmethod
    def read(cls, folder: Path) -> RunLog:
        """Read a run folder's logs back."""
        folder = Path(folder)
        tables = {}
        for name in cls.TABLES:
            path = folder / f"{name}.parquet"
            try:
                t = pq.read_table(path)
            except (OSError, pa.ArrowInvalid) as e:
                raise DataError(f"{path}: cannot read run log table ({e})") from None
            tables[name] = {c: t.column(c).to_numpy() for c in t.column_names}
        meta = json.loads((folder / "log_meta.json").read_text())
        return cls(meta=meta, **tables)


def write_events(events: dict[str, np.ndarray], path: Path) -> None:
    """Write an event (trajectory) table to parquet atomically."""
    path = Path(path)
    table = pa.table(
        {k: pa.array(np.asarray(events[k], dtype=t)) for k, t in EVENT_COLUMNS.items()}
    )
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def read_events(path: Path) -> dict[str, np.ndarray]:
    """Read an event (trajectory) table, checking its columns."""
    path = Path(path)
    try:
        t = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise DataError(f"{path}: not a readable parquet file ({e})") from None
    missing = [c for c in EVENT_COLUMNS if c not in t.column_names]
    if missing:
        raise DataError(f"{path}: missing event column(s) {', '.join(missing)}")
    return {c: t.column(c).to_numpy().astype(EVENT_COLUMNS[c]) for c in EVENT_COLUMNS}


class atomic_dir:
    """Context manager: build a folder under a temporary name, rename it into place on success.

    On error the temporary folder is removed, so no half-written run folder is ever left behind.
    """

    def __init__(self, target: Path, overwrite: bool = True) -> None:
        self.target = Path(target)
        self.overwrite = overwrite

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.target.exists():
            if not self.overwrite:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise FileExistsError(self.target)
            old = self.target.with_name(f".{self.target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
