"""Paired differences between the policies of a finished ``v1d3 evaluate`` study.

``summary.csv`` compares every policy with the study's one baseline; this compares one policy
with several others on a metric, day by day (same weekday and seed: the same demand), and
prints one JSON object: for each other policy, the mean of the per-day relative differences
with its 95 % Student-t interval, and on how many days the policy was ahead.

    python scripts/paired_differences.py reports/quality/dispatch v1d3/stay \\
        cvnet/stay online-td/stay tabular-td/stay

With ``--over`` each of the others is compared with the policy instead (``cvnet/stay --over
'v1d3[omega=0.5]/stay' ...``: every variant over ``cvnet``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from v1d3.cli.script_args import ArgumentParser
from v1d3.errors import ConfigError
from v1d3.eval.summary import mean_ci
from v1d3.policy_spec import parse_policy, policy_label
from v1d3.text_files import json_text


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", type=Path, help="study folder (holds results.parquet)")
    ap.add_argument("policy", help="dispatch/reposition of the policy to compare")
    ap.add_argument("others", nargs="+", help="policies to compare it with")
    ap.add_argument("--metric", default="total_income")
    ap.add_argument(
        "--over",
        action="store_true",
        help="each of the others over the policy, instead of the policy over each",
    )
    args = ap.parse_args()
    try:  # the names as the study writes them (a bare dispatch means /stay, parameters sorted)
        args.policy = policy_label(*parse_policy(args.policy))
        args.others = [policy_label(*parse_policy(p)) for p in args.others]
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    path = args.study / "results.parquet"
    if not path.is_file():
        print(f"error: {path}: not found (run the study first)", file=sys.stderr)
        sys.exit(2)
    t = pq.read_table(path).to_pydict()
    if args.metric not in t:
        print(f"error: {path}: no column {args.metric!r}", file=sys.stderr)
        sys.exit(2)
    value = {
        (p, w, s): v
        for p, w, s, st, v in zip(
            t["policy"], t["weekday"], t["seed"], t["status"], t[args.metric], strict=True
        )
        if st == "ok"
    }
    out: dict[str, object] = {
        "study": str(args.study),
        "metric": args.metric,
        "policy": args.policy,
        "direction": "others over policy" if args.over else "policy over others",
    }
    for other in args.others:
        days = sorted(
            {(w, s) for p, w, s in value if p == args.policy}
            & {(w, s) for p, w, s in value if p == other}
        )
        if len(days) < 2:
            print(
                f"error: {path}: fewer than 2 days with both {args.policy} and {other}",
                file=sys.stderr,
            )
            sys.exit(2)
        a = np.array([value[(args.policy, *d)] for d in days], dtype=np.float64)
        b = np.array([value[(other, *d)] for d in days], dtype=np.float64)
        r = b / a - 1.0 if args.over else a / b - 1.0
        mean, lo, hi = mean_ci(r)
        out[other] = {
            "days": int(r.size),
            "rel_diff": round(mean, 5),
            "ci_low": round(lo, 5),
            "ci_high": round(hi, 5),
            "days_ahead": int((r > 0).sum()),
        }
    print(json_text(out, indent=2))


if __name__ == "__main__":
    main()
