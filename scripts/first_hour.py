"""How far a study's first hour after midnight is from its day: answer rates per run.

Reads the run records of a finished ``v1d3 evaluate`` study folder (``runs/*/record.json``: the
run's ``metrics`` and its ``hourly`` figures) for one policy and prints one JSON object: per
(weekday, seed) the day's answer rate, the first hour's (0–1 a.m.) and their difference in
percentage points, and over the days the mean day rate, the range of the differences and
the days whose first hour is more than ``--points`` away.

    python scripts/first_hour.py reports/quality/dispatch distance/stay
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text, read_json


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _day(path: Path) -> dict:
    try:
        rec = read_json(path)
        day, first = float(rec["metrics"]["answer_rate"]), float(rec["hourly"]["answer_rate"][0])
        return {"weekday": int(rec["weekday"]), "seed": int(rec["seed"]), "day": round(day, 4),
                "first_hour": round(first, 4), "points": round(100 * (first - day), 1)}  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        _fail(f"{path}: not a run record with metrics and hourly figures ({type(e).__name__}: {e})")


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", type=Path, help="study folder (holds runs/*/record.json)")
    ap.add_argument("policy", help="dispatch/reposition of the runs to read")
    ap.add_argument("--points", type=float, default=10.0, help="allowed distance, points")
    args = ap.parse_args()
    prefix = args.policy.replace("/", "__") + "__"
    records = sorted((args.study / "runs").glob(f"{prefix}*/record.json"))
    if not records:
        _fail(f"{args.study}: no runs of {args.policy} (runs/{prefix}*/record.json)")
    days = sorted((_day(p) for p in records), key=lambda d: (d["weekday"], d["seed"]))
    points = [d["points"] for d in days]
    print(json_text({
        "study": str(args.study), "policy": args.policy, "days": days,
        "mean_day_answer_rate": round(sum(d["day"] for d in days) / len(days), 4),
        "points_min": min(points), "points_max": max(points),
        "days_beyond": [d for d in days if abs(d["points"]) > args.points],
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
