"""Weather-shock magnitudes from NYC TLC trip records: demand and speed on a snowstorm day.

For each business day of the files: the trips picked up, and the median trip speed (distance
over duration, trips of 0.5-30 miles and 2-120 minutes). Printed as one JSON object: the
storm day's trips and speed over the median business day's (the ``demand`` and ``speed``
multipliers of a weather shock), with the per-day figures. The ``--shocks random`` weather draw
of docs/simulation.md cites these numbers.

    # January-March 2021 (the TLC's monthly green-taxi files); the storm of 2021-02-01
    python scripts/shock_magnitudes.py green_tripdata_2021-0{1,2,3}.parquet --storm 2021-02-01
"""

from __future__ import annotations

import re
import sys
from typing import NoReturn

import numpy as np
import pyarrow.parquet as pq

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _read(files: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    days, speed, ok = [], [], []
    for f in files:
        try:
            schema = pq.read_schema(f).names
        except (OSError, ValueError) as e:
            _fail(f"{f}: not a readable parquet file ({e})")
        pre = next((p for p in ("tpep", "lpep") if f"{p}_pickup_datetime" in schema), None)
        if pre is None or "trip_distance" not in schema:
            _fail(f"{f}: expected tpep_/lpep_ pickup and dropoff times and trip_distance")
        cols = [f"{pre}_pickup_datetime", f"{pre}_dropoff_datetime", "trip_distance"]
        t = pq.read_table(f, columns=cols)
        t0 = t.column(0).to_numpy().astype("datetime64[s]")
        t1 = t.column(1).to_numpy().astype("datetime64[s]")
        miles = t.column(2).to_numpy(zero_copy_only=False).astype(np.float64)
        minutes = (t1 - t0).astype(np.float64) / 60.0
        days.append(t0.astype("datetime64[D]"))
        speed.append(miles / np.maximum(minutes, 1e-9) * 60.0)
        ok.append((miles >= 0.5) & (miles <= 30) & (minutes >= 2) & (minutes <= 120))
    return np.concatenate(days), np.concatenate(speed), np.concatenate(ok)


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="TLC trip-record parquet files (yellow or green)")
    ap.add_argument("--storm", default="2021-02-01", help="the storm day, YYYY-MM-DD")
    args = ap.parse_args()
    day, speed, ok = _read(args.files)
    try:
        storm = np.datetime64(args.storm, "D")
    except ValueError:
        _fail(f"--storm: expected YYYY-MM-DD, got {args.storm!r}")
    # the files' own months (records outside them are mis-dated), business days only
    months = [re.search(r"_(\d{4}-\d{2})\.parquet$", f) for f in args.files]
    if any(m is None for m in months):
        _fail("expected TLC file names ending in _YYYY-MM.parquet")
    span = np.array([m.group(1) for m in months if m is not None], dtype="datetime64[M]")
    business = np.is_busday(day) & np.isin(day.astype("datetime64[M]"), span)
    per_day = {}
    for d in np.unique(day[business]):
        sel = day == d
        per_day[str(d)] = (int(sel.sum()), float(np.median(speed[sel & ok])))
    if str(storm) not in per_day:
        _fail(f"--storm: {storm} is not a business day of the files")
    others = [v for k, v in per_day.items() if k != str(storm)]
    trips_med = float(np.median([n for n, _ in others]))
    speed_med = float(np.median([s for _, s in others]))
    n, s = per_day[str(storm)]
    print(
        json_text(
            {
                "storm": str(storm),
                "demand": round(n / trips_med, 3),
                "speed": round(s / speed_med, 3),
                "storm_trips": n,
                "median_business_day_trips": trips_med,
                "storm_speed_mph": round(s, 2),
                "median_business_day_speed_mph": round(speed_med, 2),
                "days": {
                    k: {"trips": v[0], "speed_mph": round(v[1], 2)} for k, v in per_day.items()
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
