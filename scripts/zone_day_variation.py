"""How much a taxi zone's daily demand varies beyond Poisson noise, from NYC TLC trip records.

The ``manhattan`` scenario's ``--zone-day-sd`` multiplies each pick-up zone's demand for the day
by ``exp(N(0, sd²))``. This script measures that sd on real records: for the busiest pick-up
zones, the log of each business day's count over what the zone's average share of that day's
total predicts, its variance less the Poisson part (about 1 / expected count), square-rooted.
The median over zones is printed with the per-zone figures as one JSON object.

    # the shipped March 2021 green-taxi month: 0.04
    python scripts/zone_day_variation.py src/v1d3/data/nyc_tlc/green_tripdata_2021-03.parquet
    # January-March 2021 (the TLC's monthly files for those three months): 0.15
    python scripts/zone_day_variation.py green_tripdata_2021-0{1,2,3}.parquet
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


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="TLC trip-record parquet files (yellow or green)")
    ap.add_argument("--zones", type=int, default=25, help="busiest pick-up zones to measure")
    args = ap.parse_args()
    times, zones, months = [], [], []
    for f in args.files:
        month = re.search(r"_(\d{4}-\d{2})\.parquet$", f)
        if month is None:
            _fail(f"{f}: expected a TLC file name ending in _YYYY-MM.parquet")
        months.append(month.group(1))
        try:
            schema = pq.read_schema(f).names
        except (OSError, ValueError) as e:  # missing, or not parquet (ArrowInvalid)
            _fail(f"{f}: not a readable parquet file ({e})")
        col = next(
            (c for c in ("tpep_pickup_datetime", "lpep_pickup_datetime") if c in schema), None
        )
        if col is None or "PULocationID" not in schema:
            _fail(f"{f}: expected columns tpep_/lpep_pickup_datetime and PULocationID")
        t = pq.read_table(f, columns=[col, "PULocationID"])
        times.append(t.column(0).to_numpy().astype("datetime64[s]"))
        zones.append(t.column(1).to_numpy(zero_copy_only=False).astype(np.int64))
    t = np.concatenate(times)
    z = np.concatenate(zones)
    day = t.astype("datetime64[D]")
    # the files' own month span (records outside it are mis-dated), business days only
    ok = np.isin(day.astype("datetime64[M]"), np.array(months, dtype="datetime64[M]"))
    ok &= np.is_busday(day)
    day, z = day[ok], z[ok]
    days, d_idx = np.unique(day, return_inverse=True)
    counts = np.zeros((int(z.max()) + 1, days.size))
    np.add.at(counts, (z, d_idx), 1.0)
    total = counts.sum(axis=0)
    top = np.argsort(-counts.sum(axis=1))[: args.zones]
    c = counts[top]
    expected = np.outer((c / total).mean(axis=1), total)
    log_ratio = np.log((c + 0.5) / (expected + 0.5))
    excess = np.sqrt(np.maximum(log_ratio.var(axis=1) - (1.0 / expected).mean(axis=1), 0.0))
    print(
        json_text(
            {
                "business_days": int(days.size),
                "daily_total_cv": round(float(total.std() / total.mean()), 3),
                "zone_day_sd_median": round(float(np.median(excess)), 3),
                "zones": {
                    int(zz): {"orders_per_day": round(float(e.mean())), "sd": round(float(x), 3)}
                    for zz, e, x in zip(top, expected, excess, strict=True)
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
