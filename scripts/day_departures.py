"""Measure how each business date of 2021 Q1 departs from its weekday's average, from NYC TLC
green-taxi records, and write the table ``--real-days`` and ``--like-date`` read.

The method is in :mod:`v1d3.demand.departures` (and docs/simulation.md, "Real days"). The
script reads the three monthly files from ``--shared DIR`` (the folder of the original
downloads, as for ``scripts/build_data.py``), writes ``src/v1d3/data/day_departures.json``
(``--out``; byte for byte the same on every run) and prints the figures docs/simulation.md
quotes as one JSON object, with the full rows of the ``--dates`` asked for.

    python scripts/day_departures.py --shared DIR --dates 2021-02-01,2021-01-18
    python scripts/day_departures.py --shared DIR --check   # the shipped table is up to date
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.departures import measure_departures, read_pickups, summarise
from v1d3.demand.manhattan import load_manhattan
from v1d3.demand.real_days import TABLE_PATH, table_text
from v1d3.errors import V1D3Error
from v1d3.files import atomic_write_text
from v1d3.text_files import json_text

ROOT = Path(__file__).resolve().parents[1]
TLC_DIR = "nyc-tlc-green-2021q1"
SHA256 = {
    "2021-01": "b8e2c9496c5eada0f10adbd88f98d91721ec6fe2787a2b355cf0ccfa9678ee7b",
    "2021-02": "fd43c7afa2002716c8afadfd57665ab9c9ad99be419570a9b0a08de15cbeb64e",
    "2021-03": "78847a2e0ccb58202eef3337903e696317656815f50423733ad3099dabc58a9d",
}
"""TLC's monthly green-taxi files, as downloaded (src/v1d3/data/NOTICE.md)."""


def _check_inputs(files: list[Path]) -> str | None:
    """The first input that is missing or differs from TLC's file, as an error line."""
    for month, f in zip(SHA256, files, strict=True):
        if not f.is_file():
            return f"{f}: missing input file"
        if hashlib.sha256(f.read_bytes()).hexdigest() != SHA256[month]:
            return f"{f}: SHA-256 differs from TLC's file of {month}"
    return None


def _table_share(zone_ids: list[int]) -> list[float]:
    """Share of each weekday's pick-ups in the Manhattan table that the measured zones hold."""
    data = load_manhattan()
    by_zone = data.trips.sum(axis=(1, 3), dtype=np.int64)
    measured = np.isin(data.zone_ids, zone_ids)
    return [round(float(z[measured].sum() / z.sum()), 3) for z in by_zone]


def main() -> int:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, required=True, help="folder of the original downloads")
    ap.add_argument("--out", type=Path, default=TABLE_PATH, help="table to write")
    ap.add_argument("--dates", default="", help="dates whose full rows to print (a,b,...)")
    ap.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = ap.parse_args()
    files = [args.shared / TLC_DIR / f"green_tripdata_{m}.parquet" for m in SHA256]
    bad = _check_inputs(files)
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    try:
        table = measure_departures(read_pickups(files, load_manhattan().zone_ids))
    except V1D3Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = table_text(table)
    if args.check:
        if not args.out.is_file() or args.out.read_text() != data:
            print(f"error: {args.out} differs from the measurement", file=sys.stderr)
            return 1
    else:
        atomic_write_text(args.out, data)
    dates = [d for d in args.dates.split(",") if d]
    out = summarise(table, dates)
    out["manhattan_share_of_measured_zones"] = _table_share(table["zone_ids"])
    print(json_text(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
