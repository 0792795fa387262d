"""Draw runs' drivers online and answer rate hour by hour as one SVG figure.

Reads each run folder's ``metrics_by_hour.csv`` (columns ``hour``, ``drivers_online``,
``orders``, ``answer_rate``) and writes two panels: drivers online per hour, and the share of
the hour's orders answered with the day's mean as a dashed line. Prints one JSON object with
the plotted figures (per run: the hourly series, the day's answer rate, the first hour's
answer rate and its distance from the day's mean).

    v1d3 simulate --scenario manhattan --weekday 2 --seed 11 --dispatch distance --out runs/day
    v1d3 simulate --scenario manhattan --weekday 2 --seed 11 --dispatch distance \\
        --no-overnight-shifts --out runs/day-cut
    python scripts/hourly_figure.py runs/day=carried runs/day-cut=cut \\
        --out docs/results/drivers-online.svg
"""

from __future__ import annotations

import csv
import html
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import numpy as np

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
W, H, PAD = 720, 250, 48


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_hours(run: Path) -> dict[str, np.ndarray]:
    path = run / "metrics_by_hour.csv"
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        cols = {
            k: np.array([float(r[k]) for r in rows])
            for k in ("hour", "drivers_online", "orders", "answer_rate")
        }
    except (OSError, KeyError, ValueError) as e:
        _fail(f"{path}: not a run's hourly metrics ({type(e).__name__}: {e})")
    if cols["hour"].size == 0:
        _fail(f"{path}: no hours")
    return cols


def _panel(
    y0: float,
    series: list[tuple[str, np.ndarray, np.ndarray]],
    top: float,
    label: str,
    fmt: str,
    means: list[float] | None = None,
) -> list[str]:
    """One panel's SVG elements: axes, grid, one polyline per series (x = hour + 0.5)."""
    x = lambda h: PAD + (h / 24.0) * (W - 2 * PAD)  # noqa: E731
    y = lambda v: y0 + H - PAD - (v / top) * (H - 2 * PAD)  # noqa: E731
    out = [f'<text x="{PAD}" y="{y0 + 20}" font-size="13">{label}</text>']
    for k in range(5):
        v = top * k / 4
        out.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{PAD - 6}" y="{y(v) + 4:.1f}" font-size="10" '
            f'text-anchor="end">{fmt.format(v)}</text>'
        )
    for h in range(0, 25, 3):
        out.append(
            f'<text x="{x(h):.1f}" y="{y0 + H - PAD + 14}" font-size="10" '
            f'text-anchor="middle">{h}</text>'
        )
    for i, (name, hours, v) in enumerate(series):
        # an hour without orders has no answer rate (NaN): the line skips it
        pts = " ".join(
            f"{x(h + 0.5):.1f},{y(val):.1f}"
            for h, val in zip(hours, v, strict=True)
            if np.isfinite(val)
        )
        c = COLOURS[i % len(COLOURS)]
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        if means is not None:
            out.append(
                f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(means[i]):.1f}" '
                f'y2="{y(means[i]):.1f}" stroke="{c}" stroke-dasharray="4 3"/>'
            )
        out.append(
            f'<text x="{W - PAD - 4}" y="{y0 + 20 + 14 * i}" font-size="11" fill="{c}" '
            f'text-anchor="end">{html.escape(name)}</text>'
        )
    return out


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run folders, each optionally FOLDER=LABEL")
    ap.add_argument("--out", type=Path, required=True, help="SVG file to write")
    args = ap.parse_args()
    runs = []
    for arg in args.runs:
        folder, _, label = arg.partition("=")
        runs.append((label or Path(folder).name, read_hours(Path(folder))))
    figures = {}
    for name, h in runs:
        rate = h["answer_rate"]
        mean = float(np.nansum(rate * h["orders"]) / max(h["orders"].sum(), 1.0))
        first = float(rate[0]) if np.isfinite(rate[0]) else None
        figures[name] = {
            "drivers_online": np.round(h["drivers_online"], 1).tolist(),
            "answer_rate": [round(float(r), 4) if np.isfinite(r) else None for r in rate],
            "day_answer_rate": round(mean, 4),
            "first_hour_answer_rate": None if first is None else round(first, 4),
            "first_hour_minus_day_points": None
            if first is None
            else round(100 * (first - mean), 1),
        }
    peak = max(float(np.nanmax(h["drivers_online"])) for _, h in runs)
    top = max(float(np.ceil(peak / 1000.0) * 1000.0), 1000.0)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{2 * H}" '
        'font-family="sans-serif">',
        f'<rect width="{W}" height="{2 * H}" fill="white"/>',
    ]
    svg += _panel(
        0,
        [(n, h["hour"], h["drivers_online"]) for n, h in runs],
        top,
        "drivers online, by hour of day",
        "{:,.0f}",
    )
    svg += _panel(
        H,
        [(n, h["hour"], h["answer_rate"]) for n, h in runs],
        1.0,
        "orders answered (dashed: the day's mean)",
        "{:.0%}",
        [figures[n]["day_answer_rate"] for n, _ in runs],
    )
    svg.append("</svg>")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".svg.tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(svg) + "\n")
    os.replace(tmp, args.out)
    print(json_text(figures, indent=2))


if __name__ == "__main__":
    main()
